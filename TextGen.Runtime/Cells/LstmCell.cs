using TextGen.Runtime.Kernels;
using TextGen.Runtime.Model;

namespace TextGen.Runtime.Cells;

/// <summary>One step of PyTorch's <c>nn.LSTM</c>: gate blocks i, f, g, o.</summary>
internal static class LstmCell
{
    /// <summary>Advances <paramref name="h"/> and <paramref name="c"/> (H each) by one input; <paramref name="gates"/> (4H) and <paramref name="cellTanh"/> (H) are scratch.</summary>
    public static void Step(KernelMode mode, LayerWeights w, LayerInput input, Span<float> h, Span<float> c, Span<float> gates, Span<float> cellTanh)
    {
        int hidden = h.Length;
        Span<float> i = gates.Slice(0, hidden);
        Span<float> f = gates.Slice(hidden, hidden);
        Span<float> g = gates.Slice(2 * hidden, hidden);
        Span<float> o = gates.Slice(3 * hidden, hidden);

        // i, f, g, o = W_ih x + b_ih + W_hh h + b_hh, then σ, σ, tanh, σ
        MatrixVector.MultiplyPair(mode, input.Weights, input.Vector, w.HiddenWeights, h, input.Bias, gates);
        Activations.Sigmoid(mode.Path, gates.Slice(0, 2 * hidden));
        Activations.Tanh(mode.Path, g);
        Activations.Sigmoid(mode.Path, o);

        // c' = f * c + i * g
        for (int j = 0; j < hidden; j++) c[j] = f[j] * c[j] + i[j] * g[j];

        // h' = o * tanh(c')
        c.CopyTo(cellTanh);
        Activations.Tanh(mode.Path, cellTanh);
        for (int j = 0; j < hidden; j++) h[j] = o[j] * cellTanh[j];
    }
}
