using TextGen.Runtime.Kernels;

namespace TextGen.Runtime.Cells;

/// <summary>
/// <see cref="LayerInput"/> for a batch of sessions: the input term <c>W_ih·x_s + bias_s</c> of every session s. With
/// the model's input table, <see cref="Biases"/> holds each session's table row (stride G*H) and the weights and
/// vectors are empty; otherwise every session shares the layer's bias (stride 0).
/// </summary>
internal readonly ref struct BatchedLayerInput
{
    public BatchedLayerInput(WeightRows weights, ReadOnlySpan<float> vectors, ReadOnlySpan<float> biases, int biasStride)
    {
        Weights = weights;
        Vectors = vectors;
        Biases = biases;
        BiasStride = biasStride;
    }

    /// <summary>(G*H, in) W_ih in the file's dtype; empty when the biases are input-table rows.</summary>
    public WeightRows Weights { get; }

    /// <summary>(sessions, in) x of each session: embedding rows or the previous layer's h; empty with input-table rows.</summary>
    public ReadOnlySpan<float> Vectors { get; }

    /// <summary>Session s's bias row r at <c>Biases[s·BiasStride + r]</c>.</summary>
    public ReadOnlySpan<float> Biases { get; }

    /// <summary>0 when every session shares one bias; G*H for input-table rows.</summary>
    public int BiasStride { get; }
}
