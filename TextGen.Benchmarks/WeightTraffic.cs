using TextGen.Runtime.Format;
using TextGen.Runtime.Model;

namespace TextGen.Benchmarks;

/// <summary>
/// What one generated character costs a session: multiply-adds and weight bytes read. <c>compare</c>'s roofline and
/// <c>batch-scaling</c>'s compute bound divide by them.
/// </summary>
internal static class WeightTraffic
{
    /// <summary>
    /// Multiply-adds of one session's character: every layer's W_hh, W_ih above the first layer (the first one's
    /// product is a row of the input table, precomputed at load, when the model has the table) and the head.
    /// </summary>
    public static long MultiplyAddsPerChar(TextModel model)
    {
        ModelArchitecture a = model.Architecture;
        long gateRows = (long)a.GateCount * a.HiddenSize;
        long firstInput = model.Weights.InputTable.Length > 0 ? 0 : a.EmbeddingSize;
        return gateRows * (firstInput + a.HiddenSize)
            + (a.Layers - 1) * gateRows * 2 * a.HiddenSize
            + (long)a.VocabularySize * a.HiddenSize;
    }

    /// <summary>
    /// Bytes one session reads per character: the matrices of <see cref="MultiplyAddsPerChar"/> stored as
    /// <paramref name="dtype"/> (q8 with its block scales), plus the f32 input-table row and biases. The recurrent
    /// state is not counted: it is written as well as read and is a rounding error next to the matrices.
    /// </summary>
    public static long WeightBytesPerChar(TextModel model, TensorDType dtype)
    {
        ModelArchitecture a = model.Architecture;
        double bytesPerWeight = dtype switch
        {
            TensorDType.F16 => 2,
            TensorDType.Q8 => 1 + 4.0 / 32,
            _ => 4,
        };
        long gateRows = (long)a.GateCount * a.HiddenSize;
        long vectors = (model.Weights.InputTable.Length > 0 ? gateRows : 0) + a.Layers * gateRows + a.VocabularySize;
        return (long)(MultiplyAddsPerChar(model) * bytesPerWeight) + vectors * sizeof(float);
    }
}
