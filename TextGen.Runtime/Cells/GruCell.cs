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
        Span<float> rz = gates.Slice(0, 2 * hidden);
        Span<float> r = gates.Slice(0, hidden);
        Span<float> z = gates.Slice(hidden, hidden);
        Span<float> n = gates.Slice(2 * hidden, hidden);

        // r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz): rows 0..2H of both matrices
        MatrixVector.MultiplyPair(mode, input.Weights.Slice(0, 2 * hidden), input.Vector,
            w.HiddenWeights.Slice(0, 2 * hidden), h, input.Bias.Slice(0, 2 * hidden), rz);
        Activations.Sigmoid(mode.Path, rz);

        // n = tanh(W_in x + b_in + r * (W_hn h + b_hn)): r scales only the hidden product, so the two stay apart
        MatrixVector.Multiply(mode, input.Weights.Slice(2 * hidden), input.Vector, input.Bias.Slice(2 * hidden), n);
        MatrixVector.Multiply(mode, w.HiddenWeights.Slice(2 * hidden), h, w.HiddenNewBias, hiddenNew);
        for (int j = 0; j < hidden; j++) n[j] += r[j] * hiddenNew[j];
        Activations.Tanh(mode.Path, n);

        // h' = (1 − z) * n + z * h
        for (int j = 0; j < hidden; j++) h[j] = (1f - z[j]) * n[j] + z[j] * h[j];
    }
}
