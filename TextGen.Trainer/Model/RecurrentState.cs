using TextGen.Runtime.Format;
using TorchSharp;
using static TorchSharp.torch;

namespace TextGen.Trainer.Model;

/// <summary>The hidden state of every layer for every stream, carried from one chunk to the next.</summary>
internal sealed class RecurrentState : IDisposable
{
    /// <summary>Wraps tensors the caller hands over.</summary>
    public RecurrentState(Tensor h, Tensor? c)
    {
        H = h;
        C = c;
    }

    /// <summary>(layers, streams, hidden) hidden state.</summary>
    public Tensor H { get; }

    /// <summary>(layers, streams, hidden) LSTM cell state; null for RNN and GRU.</summary>
    public Tensor? C { get; }

    /// <summary>The state every stream starts from.</summary>
    public static RecurrentState Zeros(CellKind cell, int layers, int streams, int hidden) => new(
        zeros(layers, streams, hidden),
        cell == CellKind.Lstm ? zeros(layers, streams, hidden) : null);

    /// <summary>
    /// The same values cut from the graph that made them, so the next chunk's backward pass stops here (the
    /// "truncated" in truncated BPTT), and kept alive beyond the step's dispose scope.
    /// </summary>
    public RecurrentState Detached() => new(
        H.detach().MoveToOuterDisposeScope(),
        C?.detach().MoveToOuterDisposeScope());

    /// <summary>The tensors in a fixed order, for saving.</summary>
    public IEnumerable<Tensor> Tensors() => C is null ? new[] { H } : new[] { H, C };

    /// <inheritdoc />
    public void Dispose()
    {
        H.Dispose();
        C?.Dispose();
    }
}
