using TextGen.Runtime.Kernels;
using TextGen.Runtime.Model;

namespace TextGen.Runtime.Cells;

/// <summary>One step of PyTorch's <c>nn.LSTM</c>: gate blocks i, f, g, o.</summary>
internal static class LstmCell
{
    /// <summary>Advances <paramref name="h"/> and <paramref name="c"/> (H each) by one input; <paramref name="gates"/> (4H) and <paramref name="cellTanh"/> (H) are scratch.</summary>
    public static void Step(KernelMode mode, LayerWeights w, LayerInput input, Span<float> h, Span<float> c, Span<float> gates, Span<float> cellTanh)
    {
        // i, f, g, o = W_ih x + b_ih + W_hh h + b_hh
        MatrixVector.MultiplyPair(mode, input.Weights, input.Vector, w.HiddenWeights, h, input.Bias, gates);
        Update(mode.Path, gates, h, c, cellTanh);
    }

    /// <summary>The pre-activations of every session of a batch into <paramref name="gates"/> (sessions, 4H), as <see cref="Step"/> computes one session's.</summary>
    public static void MultiplyBatch(KernelMode mode, LayerWeights w, in BatchedLayerInput input, ReadOnlySpan<float> hs, Span<float> gates, int sessions, Span<float> workspace)
        => BatchedMatrixVector.MultiplyPair(mode, input.Weights, input.Vectors, w.HiddenWeights, hs, input.Biases, input.BiasStride, gates, w.HiddenWeights.Rows, w.HiddenWeights.Rows, sessions, workspace);

    /// <summary>The elementwise half of a step, from the pre-activations in <paramref name="gates"/> (4H); <paramref name="cellTanh"/> (H) is scratch.</summary>
    public static void Update(KernelPath path, Span<float> gates, Span<float> h, Span<float> c, Span<float> cellTanh)
    {
        int hidden = h.Length;
        Span<float> i = gates.Slice(0, hidden);
        Span<float> f = gates.Slice(hidden, hidden);
        Span<float> g = gates.Slice(2 * hidden, hidden);
        Span<float> o = gates.Slice(3 * hidden, hidden);

        // σ, σ, tanh, σ
        Activations.Sigmoid(path, gates.Slice(0, 2 * hidden));
        Activations.Tanh(path, g);
        Activations.Sigmoid(path, o);

        // c' = f * c + i * g
        Elementwise.AddProducts(path, f, c, i, g, c);

        // h' = o * tanh(c')
        Activations.Tanh(path, c, cellTanh);
        Elementwise.Multiply(path, o, cellTanh, h);
    }
}
