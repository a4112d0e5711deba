using TextGen.Runtime.Generation;
using TextGen.Runtime.Model;

namespace TextGen.Benchmarks.Engines;

/// <summary>
/// TextGen.Runtime through its public generator API in the default (fast) kernel mode: <see cref="TextGenerator.FeedToken"/>
/// then <see cref="TextGenerator.Logits"/>, which is the forward pass a game's generator runs per character.
/// </summary>
internal sealed class RuntimeEngine : IStepEngine
{
    private readonly TextGenerator _generator;

    /// <summary>An engine over its own generator of <paramref name="model"/>.</summary>
    public RuntimeEngine(TextModel model) => _generator = model.CreateGenerator();

    /// <inheritdoc/>
    public ReadOnlySpan<float> Step(int token)
    {
        _generator.FeedToken(token);
        return _generator.Logits;
    }

    /// <inheritdoc/>
    public void Reset() => _generator.Reset();

    /// <summary>Nothing to release: the generator is managed memory only.</summary>
    public void Dispose()
    {
    }
}
