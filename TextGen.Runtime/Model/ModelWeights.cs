using System.Buffers.Binary;
using System.Runtime.InteropServices;
using TextGen.Runtime.Cells;
using TextGen.Runtime.Format;
using TextGen.Runtime.Kernels;

namespace TextGen.Runtime.Model;

/// <summary>
/// The immutable weights of a model, decoded once at load: llama2.c's <c>TransformerWeights</c>. Shared by every
/// generator, never written after construction.
/// </summary>
internal sealed class ModelWeights
{
    /// <summary>
    /// Largest first-layer input table built for embedding models: 4 Mi floats (16 MB). Above it (huge vocabularies)
    /// the first layer multiplies the embedding row by W_ih at every step instead.
    /// </summary>
    public const int DefaultMaxInputTableFloats = 4 << 20;

    private ModelWeights(ModelArchitecture architecture, float[] embedding, float[] inputTable, LayerWeights[] layers, float[] headWeight, float[] headBias)
    {
        Architecture = architecture;
        Embedding = embedding;
        InputTable = inputTable;
        Layers = layers;
        HeadWeight = headWeight;
        HeadBias = headBias;
    }

    public ModelArchitecture Architecture { get; }

    public CellKind Cell => Architecture.Cell;

    public int HiddenSize => Architecture.HiddenSize;

    public int GateRows => Architecture.GateCount * Architecture.HiddenSize;

    public float[] Embedding { get; }     // (V, E); empty in one-hot mode or when the input table replaces it

    public float[] InputTable { get; }    // (V, G*H) row t = W_ih·x(t) + Bias of layer 0, so layer 0's input term is one row; empty when not built

    public LayerWeights[] Layers { get; } // (layers)

    public float[] HeadWeight { get; }    // (V, H)

    public float[] HeadBias { get; }      // (V)

    /// <summary>Layer 0's input term for <paramref name="token"/>.</summary>
    public LayerInput FirstLayerInput(int token)
    {
        if (InputTable.Length > 0) return new LayerInput(default, default, InputTable.AsSpan(token * GateRows, GateRows));
        int e = Architecture.EmbeddingSize;
        return new LayerInput(Layers[0].InputWeights, Embedding.AsSpan(token * e, e), Layers[0].Bias);
    }

    /// <summary>Decodes and checks every tensor <paramref name="file"/>'s architecture requires.</summary>
    /// <exception cref="ModelFormatException">A tensor is missing, has the wrong shape or size, or a dtype this runtime cannot run.</exception>
    public static ModelWeights FromFile(ModelFile file, string source, int maxInputTableFloats)
    {
        ModelArchitecture a = file.Architecture;
        var byName = new Dictionary<string, ModelTensor>(StringComparer.Ordinal);
        foreach (ModelTensor t in file.Tensors) byName[t.Name] = t;
        foreach (TensorSpec spec in a.ExpectedTensors())
        {
            if (!byName.TryGetValue(spec.Name, out ModelTensor? t)) throw new ModelFormatException(source, $"tensor '{spec.Name}' is missing");
            if (!t.Shape.SequenceEqual(spec.Shape))
                throw new ModelFormatException(source, $"tensor '{spec.Name}' has shape [{string.Join(", ", t.Shape)}], expected [{string.Join(", ", spec.Shape)}]");
        }
        float[] Values(string name) => Float32Values(byName[name], source);

        int hidden = a.HiddenSize;
        int gateRows = a.GateCount * hidden;
        var layers = new LayerWeights[a.Layers];
        for (int l = 0; l < a.Layers; l++)
        {
            float[] biasIh = Values(ModelArchitecture.BiasIhName(l));
            float[] biasHh = Values(ModelArchitecture.BiasHhName(l));
            // PyTorch adds b_ih and b_hh to every pre-activation except GRU's n gate, where b_hn is multiplied by r.
            int summedRows = a.Cell == CellKind.Gru ? 2 * hidden : gateRows;
            var bias = (float[])biasIh.Clone();
            for (int j = 0; j < summedRows; j++) bias[j] += biasHh[j];
            float[] hiddenNewBias = a.Cell == CellKind.Gru ? biasHh.AsSpan(2 * hidden).ToArray() : Array.Empty<float>();
            layers[l] = new LayerWeights(Values(ModelArchitecture.WeightIhName(l)), Values(ModelArchitecture.WeightHhName(l)), bias, hiddenNewBias);
        }

        float[] embedding = a.IsOneHot ? Array.Empty<float>() : Values(ModelArchitecture.EmbeddingName);
        float[] inputTable = Array.Empty<float>();
        long tableFloats = (long)a.VocabularySize * gateRows;
        if (a.IsOneHot || tableFloats <= maxInputTableFloats)
        {
            inputTable = BuildInputTable(a, embedding, layers[0]);
            embedding = Array.Empty<float>();
            layers[0] = new LayerWeights(Array.Empty<float>(), layers[0].HiddenWeights, layers[0].Bias, layers[0].HiddenNewBias);
        }
        return new ModelWeights(a, embedding, inputTable, layers, Values(ModelArchitecture.HeadWeightName), Values(ModelArchitecture.HeadBiasName));
    }

    /// <summary>
    /// Row t = W_ih·x(t) + bias of layer 0. One-hot: x(t) picks column t of W_ih, so the table is W_ihᵀ plus the bias
    /// and is no larger than W_ih. Embedding: computed with the strict kernels, so the table is the same on every
    /// machine and both kernel modes share it.
    /// </summary>
    private static float[] BuildInputTable(ModelArchitecture a, float[] embedding, LayerWeights first)
    {
        int vocabulary = a.VocabularySize;
        int gateRows = a.GateCount * a.HiddenSize;
        var table = new float[(long)vocabulary * gateRows];
        if (a.IsOneHot)
        {
            for (int t = 0; t < vocabulary; t++)
            {
                for (int g = 0; g < gateRows; g++) table[(long)t * gateRows + g] = first.InputWeights[(long)g * vocabulary + t] + first.Bias[g];
            }
            return table;
        }
        int e = a.EmbeddingSize;
        var strict = KernelMode.Best(strict: true);
        for (int t = 0; t < vocabulary; t++)
        {
            MatrixVector.Multiply(strict, first.InputWeights, embedding.AsSpan(t * e, e), first.Bias, table.AsSpan(t * gateRows, gateRows));
        }
        return table;
    }

    /// <summary>The values of an f32 tensor (little-endian bytes in the file, whatever this machine's byte order).</summary>
    private static float[] Float32Values(ModelTensor tensor, string source)
    {
        if (tensor.DType != TensorDType.F32)
            throw new ModelFormatException(source, $"tensor '{tensor.Name}' is {tensor.DType}; this runtime version runs f32 weights only");
        long count = tensor.ElementCount;
        ReadOnlySpan<byte> bytes = tensor.Data.Span;
        if (bytes.Length != count * sizeof(float))
            throw new ModelFormatException(source, $"tensor '{tensor.Name}' holds {bytes.Length} bytes, expected {count * sizeof(float)} for {count} f32 values");
        var values = new float[count];
        if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.Cast<byte, float>(bytes).CopyTo(values);
        }
        else
        {
            for (int i = 0; i < values.Length; i++) values[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadInt32LittleEndian(bytes.Slice(i * sizeof(float))));
        }
        return values;
    }
}
