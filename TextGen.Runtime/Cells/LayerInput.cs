using TextGen.Runtime.Kernels;

namespace TextGen.Runtime.Cells;

/// <summary>
/// The input term of a layer's gate pre-activations, <c>W_ih·x + bias</c>. For the first layer the model may hold
/// <c>W_ih·x</c> precomputed per character (its input table); then <see cref="Bias"/> is that table row and the
/// weights and vector are empty, so the same kernel call serves both cases.
/// </summary>
internal readonly ref struct LayerInput
{
    public LayerInput(WeightRows weights, ReadOnlySpan<float> vector, ReadOnlySpan<float> bias)
    {
        Weights = weights;
        Vector = vector;
        Bias = bias;
    }

    /// <summary>(G*H, in) W_ih in the file's dtype, gate blocks in PyTorch order; empty when <see cref="Bias"/> already holds W_ih·x.</summary>
    public WeightRows Weights { get; }

    /// <summary>(in) x: the embedding row or the previous layer's h; empty with an input-table row.</summary>
    public ReadOnlySpan<float> Vector { get; }

    /// <summary>(G*H) b_ih + b_hh, except GRU n rows which hold b_in alone; or an input-table row.</summary>
    public ReadOnlySpan<float> Bias { get; }
}
