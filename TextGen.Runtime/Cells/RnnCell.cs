using TextGen.Runtime.Kernels;
using TextGen.Runtime.Model;

namespace TextGen.Runtime.Cells;

/// <summary>One step of PyTorch's <c>nn.RNN(nonlinearity='tanh')</c>.</summary>
internal static class RnnCell
{
    /// <summary>Advances <paramref name="h"/> (H) by one input; <paramref name="gates"/> (H) is scratch.</summary>
    public static void Step(KernelMode mode, LayerWeights w, LayerInput input, Span<float> h, Span<float> gates)
    {
        // W_ih x + b_ih + W_hh h + b_hh
        MatrixVector.MultiplyPair(mode, input.Weights, input.Vector, w.HiddenWeights, h, input.Bias, gates);
        Update(mode.Path, gates, h);
    }

    /// <summary>The pre-activations of every session of a batch into <paramref name="gates"/> (sessions, H), as <see cref="Step"/> computes one session's.</summary>
    public static void MultiplyBatch(KernelMode mode, LayerWeights w, in BatchedLayerInput input, ReadOnlySpan<float> hs, Span<float> gates, int sessions, Span<float> workspace)
        => BatchedMatrixVector.MultiplyPair(mode, input.Weights, input.Vectors, w.HiddenWeights, hs, input.Biases, input.BiasStride, gates, w.HiddenWeights.Rows, w.HiddenWeights.Rows, sessions, workspace);

    /// <summary>The elementwise half of a step, from the pre-activations in <paramref name="gates"/>: h' = tanh(gates).</summary>
    public static void Update(KernelPath path, Span<float> gates, Span<float> h)
    {
        Activations.Tanh(path, gates);
        gates.CopyTo(h);
    }
}
