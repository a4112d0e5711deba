using System.Globalization;
using TextGen.Runtime.Format;
using static TextGen.Trainer.Export.OnnxProto;

namespace TextGen.Trainer.Export;

/// <summary>
/// Writes a weight file as an ONNX graph of one generation step: the token id and every layer's recurrent state in,
/// the next character's logits and the new state out. The caller feeds the state outputs back as the next inputs.
/// <para>
/// Only standard operators of opset 15, all of which ONNX Runtime and Unity Sentis load: Gather (embedding) or
/// OneHot (one-hot input), the fused LSTM operator, which Sentis has as a layer (it has no GRU or RNN layer, so those
/// cells are composed from MatMul, Add, Split, Sigmoid, Tanh, Mul and Sub), and Flatten and Gemm for the head. Each
/// layer's state is an input and an output of its own: one stacked [layers, 1, hidden] tensor would cost a Split and
/// a Concat per state every step, which slowed ONNX Runtime measurably on small models (docs/onnx.md, "Graph").
/// </para>
/// </summary>
internal static class OnnxExporter
{
    /// <summary>int64 [1, 1]: the token id (index into the vocabulary), as a sequence of one for a batch of one.</summary>
    public const string TokenInput = "token";

    /// <summary>float [1, vocabulary]: scores of the next character, before softmax.</summary>
    public const string LogitsOutput = "logits";

    /// <summary>float [1, 1, hidden]: layer <paramref name="layer"/>'s h (h0, h1, …); zeros to start.</summary>
    public static string HiddenInput(int layer) => $"h{layer}";

    /// <summary>float [1, 1, hidden]: layer <paramref name="layer"/>'s LSTM c (c0, c1, …); zeros to start. LSTM models only.</summary>
    public static string CellInput(int layer) => $"c{layer}";

    /// <summary>float [1, 1, hidden]: layer <paramref name="layer"/>'s h after the token, to feed back as <see cref="HiddenInput"/>.</summary>
    public static string HiddenOutput(int layer) => $"h{layer}_out";

    /// <summary>float [1, 1, hidden]: layer <paramref name="layer"/>'s c after the token, to feed back as <see cref="CellInput"/>. LSTM models only.</summary>
    public static string CellOutput(int layer) => $"c{layer}_out";

    /// <summary>Metadata key of the vocabulary: a JSON array of the Unicode scalar value of every token id.</summary>
    public const string VocabularyKey = "vocabulary";

    // ONNX's LSTM gate blocks are i, o, f, c; PyTorch's are i, f, g, o (g is ONNX's c): the PyTorch block of each ONNX one.
    private static readonly int[] LstmGateOrder = [0, 3, 1, 2];

    /// <summary>Writes the step graph of <paramref name="file"/> to <paramref name="path"/> atomically (a temporary file renamed into place).</summary>
    public static void WriteFile(ModelFile file, string path) => ModelFileStorage.WriteFileAtomically(path, ToBytes(file));

    /// <summary>The ONNX model (a serialized ModelProto) of one step of <paramref name="file"/>.</summary>
    public static byte[] ToBytes(ModelFile file)
    {
        ModelArchitecture a = file.Architecture;
        int layers = a.Layers;
        int hidden = a.HiddenSize;
        bool lstm = a.Cell == CellKind.Lstm;
        float[] Values(string name) => file.GetTensor(name).ToFloat32Array();

        var graph = new OnnxGraph($"textgen_{ModelFileSchema.CellName(a.Cell)}_step");
        graph.Input(TokenInput, TensorProto.DataTypeInt64, 1, 1);
        for (int l = 0; l < layers; l++)
        {
            graph.Input(HiddenInput(l), TensorProto.DataTypeFloat, 1, 1, hidden);
            if (lstm) graph.Input(CellInput(l), TensorProto.DataTypeFloat, 1, 1, hidden);
        }

        // x: [1, 1, input], the first layer's input as (sequence, batch, features)
        string x = a.IsOneHot
            ? graph.Node("OneHot", [TokenInput, graph.Initializer("one_hot.depth", new long[] { a.VocabularySize }, 1), graph.Initializer("one_hot.values", new[] { 0f, 1f }, 2)], ["x"])
            : graph.Node("Gather", [graph.Initializer(ModelArchitecture.EmbeddingName, Values(ModelArchitecture.EmbeddingName), a.VocabularySize, a.EmbeddingSize), TokenInput], ["x"], ("axis", 0));

        for (int l = 0; l < layers; l++)
        {
            var weights = new LayerTensors(
                Values(ModelArchitecture.WeightIhName(l)), Values(ModelArchitecture.WeightHhName(l)),
                Values(ModelArchitecture.BiasIhName(l)), Values(ModelArchitecture.BiasHhName(l)), a.LayerInputSize(l), hidden);
            switch (a.Cell)
            {
                case CellKind.Lstm:
                    Lstm(graph, $"layer{l}", weights, x, HiddenInput(l), CellInput(l), HiddenOutput(l), CellOutput(l));
                    break;
                case CellKind.Gru:
                    Gru(graph, $"layer{l}", weights, x, HiddenInput(l), HiddenOutput(l));
                    break;
                default:
                    Rnn(graph, $"layer{l}", weights, x, HiddenInput(l), HiddenOutput(l));
                    break;
            }
            x = HiddenOutput(l); // [1, 1, hidden]: the next layer's input
        }

        // logits = W_head·h + b_head with the last layer's h, flattened from [1, 1, hidden] to Gemm's [1, hidden]
        string last = graph.Node("Flatten", [x], ["head.input"], ("axis", 2));
        graph.Node("Gemm", [last,
            graph.Initializer(ModelArchitecture.HeadWeightName, Values(ModelArchitecture.HeadWeightName), a.VocabularySize, hidden),
            graph.Initializer(ModelArchitecture.HeadBiasName, Values(ModelArchitecture.HeadBiasName), a.VocabularySize)],
            [LogitsOutput], ("transB", 1));

        graph.Output(LogitsOutput, TensorProto.DataTypeFloat, 1, a.VocabularySize);
        for (int l = 0; l < layers; l++)
        {
            graph.Output(HiddenOutput(l), TensorProto.DataTypeFloat, 1, 1, hidden);
            if (lstm) graph.Output(CellOutput(l), TensorProto.DataTypeFloat, 1, 1, hidden);
        }

        string state = lstm ? "h0, c0, h1, c1, …" : "h0, h1, …";
        string doc = $"TextGen {ModelFileSchema.CellName(a.Cell)} character model, one step: feed {TokenInput} and every layer's state " +
            $"({state}, zeros to start); read {LogitsOutput} and feed each state output (h0_out → h0, …) back. " +
            $"Token ids index the '{VocabularyKey}' metadata entry.";
        return graph.ToBytes(doc, Metadata(file));
    }

    /// <summary>The layer's PyTorch tensors: W_ih (G*H, in), W_hh (G*H, H), b_ih and b_hh (G*H), gate blocks in PyTorch order.</summary>
    private sealed record LayerTensors(float[] WeightIh, float[] WeightHh, float[] BiasIh, float[] BiasHh, int InputSize, int Hidden);

    // ONNX LSTM with sequence length 1: W [1, 4H, in], R [1, 4H, H], B [1, 8H] = (Wb, Rb), gate blocks i, o, f, c.
    private static void Lstm(OnnxGraph graph, string layer, LayerTensors w, string x, string h, string c, string hOut, string cOut)
    {
        int gateRows = 4 * w.Hidden;
        float[] bias = [.. Reorder(w.BiasIh, LstmGateOrder, w.Hidden, 1), .. Reorder(w.BiasHh, LstmGateOrder, w.Hidden, 1)];
        graph.Node("LSTM", [x,
            graph.Initializer($"{layer}.W", Reorder(w.WeightIh, LstmGateOrder, w.Hidden, w.InputSize), 1, gateRows, w.InputSize),
            graph.Initializer($"{layer}.R", Reorder(w.WeightHh, LstmGateOrder, w.Hidden, w.Hidden), 1, gateRows, w.Hidden),
            graph.Initializer($"{layer}.B", bias, 1, 2 * gateRows),
            "", h, c],
            ["", hOut, cOut], ("hidden_size", w.Hidden));
    }

    // PyTorch's GRU (gates r, z, n with b_hn inside the r product, ONNX's linear_before_reset) from elementwise operators.
    private static void Gru(OnnxGraph graph, string layer, LayerTensors w, string x, string h, string hOut)
    {
        string Op(string op, string name, params string[] inputs) => graph.Node(op, inputs, [$"{layer}.{name}"]);
        string inputGates = InputGates(graph, layer, w, x, w.BiasIh, "b_ih");
        string hiddenGates = Op("Add", "hidden_gates", Op("MatMul", "hidden_product", h, graph.Initializer($"{layer}.W_hh_t", Transpose(w.WeightHh, 3 * w.Hidden, w.Hidden), w.Hidden, 3 * w.Hidden)),
            graph.Initializer($"{layer}.b_hh", w.BiasHh, 3 * w.Hidden));
        string[] i = [$"{layer}.i_r", $"{layer}.i_z", $"{layer}.i_n"];
        string[] hh = [$"{layer}.h_r", $"{layer}.h_z", $"{layer}.h_n"];
        graph.Node("Split", [inputGates], i, ("axis", 2));
        graph.Node("Split", [hiddenGates], hh, ("axis", 2));
        string r = Op("Sigmoid", "r", Op("Add", "r_sum", i[0], hh[0]));
        string z = Op("Sigmoid", "z", Op("Add", "z_sum", i[1], hh[1]));
        string n = Op("Tanh", "n", Op("Add", "n_sum", i[2], Op("Mul", "r_h_n", r, hh[2])));
        // h' = (1 − z) * n + z * h, written as n + z * (h − n) so that no constant 1 is needed
        graph.Node("Add", [n, Op("Mul", "z_step", z, Op("Sub", "h_minus_n", h, n))], [hOut]);
    }

    // PyTorch's RNN: h' = tanh(W_ih x + W_hh h + b_ih + b_hh).
    private static void Rnn(OnnxGraph graph, string layer, LayerTensors w, string x, string h, string hOut)
    {
        // One bias of b_ih + b_hh, summed as the Runtime sums them.
        float[] bias = w.BiasIh.Zip(w.BiasHh, (a, b) => a + b).ToArray();
        string inputTerm = InputGates(graph, layer, w, x, bias, "bias");
        string hiddenProduct = graph.Node("MatMul", [h, graph.Initializer($"{layer}.W_hh_t", Transpose(w.WeightHh, w.Hidden, w.Hidden), w.Hidden, w.Hidden)], [$"{layer}.hidden_product"]);
        graph.Node("Tanh", [graph.Node("Add", [inputTerm, hiddenProduct], [$"{layer}.sum"])], [hOut]);
    }

    // W_ih·x + bias as [1, 1, G*H]: MatMul by W_ihᵀ, stored transposed so that no Transpose runs per step.
    private static string InputGates(OnnxGraph graph, string layer, LayerTensors w, string x, float[] bias, string biasName)
    {
        int gateRows = bias.Length;
        string product = graph.Node("MatMul", [x, graph.Initializer($"{layer}.W_ih_t", Transpose(w.WeightIh, gateRows, w.InputSize), w.InputSize, gateRows)], [$"{layer}.input_product"]);
        return graph.Node("Add", [product, graph.Initializer($"{layer}.{biasName}", bias, gateRows)], [$"{layer}.input_gates"]);
    }

    // Gate blocks of `blockRows` rows of `rowLength` values, rearranged so that block k of the result is block order[k].
    private static float[] Reorder(float[] rows, int[] order, int blockRows, int rowLength)
    {
        int block = blockRows * rowLength;
        var result = new float[rows.Length];
        for (int k = 0; k < order.Length; k++) Array.Copy(rows, order[k] * block, result, k * block, block);
        return result;
    }

    // (rows, columns) row-major → (columns, rows) row-major.
    private static float[] Transpose(float[] matrix, int rows, int columns)
    {
        var result = new float[matrix.Length];
        for (int r = 0; r < rows; r++)
        {
            for (int col = 0; col < columns; col++) result[(long)col * rows + r] = matrix[(long)r * columns + col];
        }
        return result;
    }

    // What a game needs next to the graph: the vocabulary and sizes, then the weight file's own metadata (whose keys
    // cannot displace these: metadata_props keys must be distinct).
    private static List<KeyValuePair<string, string>> Metadata(ModelFile file)
    {
        ModelArchitecture a = file.Architecture;
        var entries = new List<KeyValuePair<string, string>>
        {
            new(VocabularyKey, $"[{string.Join(",", a.Vocabulary)}]"),
            new("cell", ModelFileSchema.CellName(a.Cell)),
            new("layers", a.Layers.ToString(CultureInfo.InvariantCulture)),
            new("hidden_size", a.HiddenSize.ToString(CultureInfo.InvariantCulture)),
            new("embedding_size", a.EmbeddingSize.ToString(CultureInfo.InvariantCulture)),
        };
        var taken = entries.Select(e => e.Key).ToHashSet(StringComparer.Ordinal);
        foreach (var (key, value) in file.Metadata.OrderBy(m => m.Key, StringComparer.Ordinal))
        {
            if (taken.Add(key)) entries.Add(new(key, value.IsString ? value.String : value.Number.ToString("R", CultureInfo.InvariantCulture)));
        }
        return entries;
    }
}
