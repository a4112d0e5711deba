using TextGen.Runtime.Format;
using TextGen.Trainer.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace TextGen.Benchmarks.Engines;

/// <summary>
/// The trainer's <see cref="CharModel"/> in TorchSharp, eval mode, no autograd, batch 1 and one step per call with the
/// state fed back: how the model would run if a game shipped LibTorch. The caller sets the thread count
/// (<c>torch.set_num_threads</c> is process-wide).
/// </summary>
internal sealed class TorchSharpEngine : IStepEngine
{
    private readonly CharModel _model;
    private readonly Tensor _token = zeros(1, 1, ScalarType.Int64); // (seq 1, batch 1) the input token id
    private readonly float[] _logits;                              // (V) copied out of every step's (1, 1, V) tensor
    private RecurrentState _state;                                 // (layers, 1, H) h and LSTM c after the last step

    /// <summary>Loads <paramref name="file"/>'s weights into a new <see cref="CharModel"/>.</summary>
    public TorchSharpEngine(ModelFile file)
    {
        _model = CharModel.FromModelFile(file);
        _logits = new float[file.Architecture.VocabularySize];
        _state = _model.ZeroState(1);
    }

    /// <inheritdoc/>
    public ReadOnlySpan<float> Step(int token)
    {
        using var grad = no_grad();
        using var scope = NewDisposeScope(); // frees every step's intermediate tensors now, not at some later GC
        _token[0, 0] = token;
        var (logits, next) = _model.forward(_token, _state);
        logits.data<float>().CopyTo(_logits);
        foreach (var t in next.Tensors()) t.MoveToOuterDisposeScope();
        _state.Dispose();
        _state = next;
        return _logits;
    }

    /// <inheritdoc/>
    public void Reset()
    {
        _state.Dispose();
        _state = _model.ZeroState(1);
    }

    /// <summary>Releases the model's and the state's native tensors.</summary>
    public void Dispose()
    {
        _state.Dispose();
        _token.Dispose();
        _model.Dispose();
    }
}
