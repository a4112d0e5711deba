using TextGen.Runtime.Format;
using TextGen.Runtime.Kernels;
using TextGen.Runtime.Model;

namespace TextGen.Benchmarks;

/// <summary>
/// What one generated character costs a session: multiply-adds and weight bytes read. <c>compare</c>'s roofline and
/// <c>batch-scaling</c>'s compute bound divide by them.
/// </summary>
internal static class WeightTraffic
{
    /// <summary>
    /// Multiply-adds of one session's character with a model of architecture <paramref name="a"/> loaded as
    /// <c>TextModel.Load</c> loads it: every layer's W_hh, W_ih above the first layer (the first one's product is a
    /// row of the input table, precomputed at load, when the model has the table) and the head.
    /// </summary>
    public static long MultiplyAddsPerChar(ModelArchitecture a)
    {
        long gateRows = (long)a.GateCount * a.HiddenSize;
        long firstInput = HasInputTable(a) ? 0 : a.EmbeddingSize;
        return gateRows * (firstInput + a.HiddenSize)
            + (a.Layers - 1) * gateRows * 2 * a.HiddenSize
            + (long)a.VocabularySize * a.HiddenSize;
    }

    /// <summary>
    /// Bytes one session reads per character: the matrices of <see cref="MultiplyAddsPerChar"/> stored as
    /// <paramref name="dtype"/> (q8 as the exporter writes it and the runtime keeps it: rows padded to whole 64-byte
    /// lines, one f32 scale per row), plus the f32 input-table row and biases. The recurrent state is not counted: it
    /// is written as well as read and is a rounding error next to the matrices.
    /// </summary>
    public static long WeightBytesPerChar(ModelArchitecture a, TensorDType dtype)
    {
        long gateRows = (long)a.GateCount * a.HiddenSize;
        long firstInput = HasInputTable(a) ? 0 : MatrixBytes(gateRows, a.EmbeddingSize, dtype);
        long matrices = firstInput
            + a.Layers * MatrixBytes(gateRows, a.HiddenSize, dtype)
            + (a.Layers - 1) * MatrixBytes(gateRows, a.HiddenSize, dtype)
            + MatrixBytes(a.VocabularySize, a.HiddenSize, dtype);
        return matrices + VectorBytes(a, HasInputTable(a));
    }

    /// <summary>
    /// <see cref="WeightBytesPerChar(ModelArchitecture, TensorDType)"/> of a loaded model, its matrices as it keeps them
    /// (<c>MatrixBytesPerStep</c>): exact for any file, a q8 one with block scales included.
    /// </summary>
    public static long WeightBytesPerChar(ModelWeights weights)
        => weights.MatrixBytesPerStep + VectorBytes(weights.Architecture, weights.InputTable.Length > 0);

    // The f32 vectors a character reads besides the matrices: the input-table row, every layer's biases, the head's.
    private static long VectorBytes(ModelArchitecture a, bool inputTable)
    {
        long gateRows = (long)a.GateCount * a.HiddenSize;
        return ((inputTable ? gateRows : 0) + a.Layers * gateRows + a.VocabularySize) * sizeof(float);
    }

    private static long MatrixBytes(long rows, int columns, TensorDType dtype) => dtype switch
    {
        TensorDType.F16 => rows * columns * 2,
        TensorDType.Q8 => rows * (RowQ8MatrixVector.RowStride(columns) + sizeof(float)),
        _ => rows * columns * sizeof(float),
    };

    private static bool HasInputTable(ModelArchitecture a) => ModelWeights.HasInputTable(a, ModelWeights.DefaultMaxInputTableFloats);
}
