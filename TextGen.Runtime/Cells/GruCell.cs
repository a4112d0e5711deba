using TextGen.Runtime.Kernels;
using TextGen.Runtime.Model;

namespace TextGen.Runtime.Cells;

/// <summary>One step of PyTorch's <c>nn.GRU</c>: gate blocks r, z, n, with <c>b_hn</c> inside the r product.</summary>
internal static class GruCell
{
    /// <summary>Advances <paramref name="h"/> (H) by one input; <paramref name="gates"/> (3H) and <paramref name="hiddenNew"/> (H) are scratch.</summary>
    public static void Step(KernelMode mode, LayerWeights w, LayerInput input, Span<float> h, Span<float> gates, Span<float> hiddenNew)
    {
        int hidden = h.Length;
        // r, z: W_i· x + b_i· + W_h· h + b_h·, rows 0..2H of both matrices
        MatrixVector.MultiplyPair(mode, input.Weights.Slice(0, 2 * hidden), input.Vector,
            w.HiddenWeights.Slice(0, 2 * hidden), h, input.Bias.Slice(0, 2 * hidden), gates.Slice(0, 2 * hidden));
        // n's two products stay apart because r scales only the hidden one: W_in x + b_in, and W_hn h + b_hn
        MatrixVector.Multiply(mode, input.Weights.Slice(2 * hidden), input.Vector, input.Bias.Slice(2 * hidden), gates.Slice(2 * hidden));
        MatrixVector.Multiply(mode, w.HiddenWeights.Slice(2 * hidden), h, w.HiddenNewBias, hiddenNew);
        Update(mode.Path, gates, hiddenNew, h);
    }

    /// <summary>
    /// The products of every session of a batch, as <see cref="Step"/> computes one session's: <paramref name="gates"/>
    /// (sessions, 3H) and <paramref name="hiddenNew"/> (sessions, H).
    /// </summary>
    public static void MultiplyBatch(KernelMode mode, LayerWeights w, in BatchedLayerInput input, ReadOnlySpan<float> hs, Span<float> gates, Span<float> hiddenNew, int sessions, Span<float> workspace)
    {
        int hidden = w.HiddenWeights.Columns;
        int stride = 3 * hidden;
        BatchedMatrixVector.MultiplyPair(mode, input.Weights.Slice(0, 2 * hidden), input.Vectors, w.HiddenWeights.Slice(0, 2 * hidden), hs,
            input.Biases, input.BiasStride, gates, stride, 2 * hidden, sessions, workspace);
        BatchedMatrixVector.MultiplyPair(mode, input.Weights.Slice(2 * hidden), input.Vectors, WeightRows.Empty, ReadOnlySpan<float>.Empty,
            input.Biases.Slice(2 * hidden), input.BiasStride, gates.Slice(2 * hidden), stride, hidden, sessions, workspace);
        BatchedMatrixVector.MultiplyPair(mode, WeightRows.Empty, ReadOnlySpan<float>.Empty, w.HiddenWeights.Slice(2 * hidden), hs,
            w.HiddenNewBias, 0, hiddenNew, hidden, hidden, sessions, workspace);
    }

    /// <summary>The elementwise half of a step, from the products in <paramref name="gates"/> (3H: r, z, W_in x + b_in) and <paramref name="hiddenNew"/> (H: W_hn h + b_hn).</summary>
    public static void Update(KernelPath path, Span<float> gates, ReadOnlySpan<float> hiddenNew, Span<float> h)
    {
        int hidden = h.Length;
        Span<float> r = gates.Slice(0, hidden);
        Span<float> z = gates.Slice(hidden, hidden);
        Span<float> n = gates.Slice(2 * hidden, hidden);

        // r = σ(…), z = σ(…)
        Activations.Sigmoid(path, gates.Slice(0, 2 * hidden));

        // n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
        Elementwise.AddProduct(path, r, hiddenNew, n);
        Activations.Tanh(path, n);

        // h' = (1 − z) * n + z * h
        Elementwise.Blend(path, z, n, h, h);
    }
}
