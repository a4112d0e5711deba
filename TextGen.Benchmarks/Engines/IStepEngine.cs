namespace TextGen.Benchmarks.Engines;

/// <summary>
/// One way of running a character model a step at a time, single-threaded: feed a token, read the next character's
/// logits. The comparison drives every engine through this, so each does the same work per character.
/// </summary>
internal interface IStepEngine : IDisposable
{
    /// <summary>Feeds <paramref name="token"/> and returns the next character's logits; the span is valid until the next step.</summary>
    ReadOnlySpan<float> Step(int token);

    /// <summary>Back to the zero state, as a new engine starts.</summary>
    void Reset();
}
