using TextGen.Runtime.Kernels;
using TextGen.Runtime.Model;

namespace TextGen.Runtime.Cells;

/// <summary>One step of PyTorch's <c>nn.RNN(nonlinearity='tanh')</c>.</summary>
internal static class RnnCell
{
    /// <summary>Advances <paramref name="h"/> (H) by one input; <paramref name="gates"/> (H) is scratch.</summary>
    public static void Step(KernelMode mode, LayerWeights w, LayerInput input, Span<float> h, Span<float> gates)
    {
        // h' = tanh(W_ih x + b_ih + W_hh h + b_hh)
        MatrixVector.MultiplyPair(mode, input.Weights, input.Vector, w.HiddenWeights, h, input.Bias, gates);
        Activations.Tanh(mode.Path, gates);
        gates.CopyTo(h);
    }
}
