using System.Globalization;

namespace TextGen.Runtime.Format;

/// <summary>
/// The shape of a character-level model: embedding (or one-hot) → stacked recurrent layers → linear head.
/// It decides which tensors a weight file must hold and their exact shapes; see <see cref="ExpectedTensors"/>.
/// </summary>
public sealed class ModelArchitecture
{
    /// <summary>Largest vocabulary a file may declare; a char model needs a few hundred symbols at most.</summary>
    public const int MaxVocabularySize = 65_536;

    /// <summary>Largest layer count a file may declare.</summary>
    public const int MaxLayers = 16;

    /// <summary>Largest hidden size a file may declare.</summary>
    public const int MaxHiddenSize = 8_192;

    /// <summary>Largest embedding size a file may declare.</summary>
    public const int MaxEmbeddingSize = 8_192;

    /// <summary>Tensor name of the embedding table, shape (vocab, embedding). Absent in one-hot mode.</summary>
    public const string EmbeddingName = "embedding.weight";

    /// <summary>Tensor name of the output projection, shape (vocab, hidden).</summary>
    public const string HeadWeightName = "head.weight";

    /// <summary>Tensor name of the output bias, shape (vocab).</summary>
    public const string HeadBiasName = "head.bias";

    private readonly int[] _vocabulary;

    /// <summary>Creates and validates an architecture.</summary>
    /// <param name="cell">The recurrent cell of every layer.</param>
    /// <param name="layers">Number of stacked recurrent layers, 1 to <see cref="MaxLayers"/>.</param>
    /// <param name="hiddenSize">Hidden units per layer, 1 to <see cref="MaxHiddenSize"/>.</param>
    /// <param name="embeddingSize">Embedding width, or 0 for one-hot input.</param>
    /// <param name="vocabulary">Unicode scalar values in id order; unique, at least 1.</param>
    /// <exception cref="ArgumentException">A value is out of range or the vocabulary is invalid.</exception>
    public ModelArchitecture(CellKind cell, int layers, int hiddenSize, int embeddingSize, IReadOnlyList<int> vocabulary)
    {
        if (!Enum.IsDefined(typeof(CellKind), cell)) throw new ArgumentException($"unknown cell kind {(int)cell}", nameof(cell));
        Require(LayersProblem(layers), nameof(layers));
        Require(HiddenSizeProblem(hiddenSize), nameof(hiddenSize));
        Require(EmbeddingSizeProblem(embeddingSize), nameof(embeddingSize));
        if (vocabulary is null) throw new ArgumentNullException(nameof(vocabulary));
        Require(VocabularySizeProblem(vocabulary.Count), nameof(vocabulary));

        var firstIdOf = new Dictionary<int, int>(vocabulary.Count);
        _vocabulary = new int[vocabulary.Count];
        for (int i = 0; i < vocabulary.Count; i++)
        {
            int scalar = vocabulary[i];
            Require(VocabularyEntryProblem(i, scalar, firstIdOf), nameof(vocabulary));
            _vocabulary[i] = scalar;
        }

        Cell = cell;
        Layers = layers;
        HiddenSize = hiddenSize;
        EmbeddingSize = embeddingSize;
    }

    private ModelArchitecture(CellKind cell, int layers, int hiddenSize, int embeddingSize, int[] vocabulary)
    {
        Cell = cell;
        Layers = layers;
        HiddenSize = hiddenSize;
        EmbeddingSize = embeddingSize;
        _vocabulary = vocabulary;
    }

    /// <summary>
    /// Adopts values the reader has already checked one by one with the rules below, without checking them twice:
    /// a second duplicate table would double what a hostile 65536-entry vocabulary costs to refuse (docs/format.md, Limits).
    /// </summary>
    internal static ModelArchitecture FromValidatedParts(CellKind cell, int layers, int hiddenSize, int embeddingSize, int[] vocabulary)
        => new(cell, layers, hiddenSize, embeddingSize, vocabulary);

    /// <summary>The recurrent cell of every layer.</summary>
    public CellKind Cell { get; }

    /// <summary>Number of stacked recurrent layers.</summary>
    public int Layers { get; }

    /// <summary>Hidden units per layer.</summary>
    public int HiddenSize { get; }

    /// <summary>Embedding width, or 0 when the first layer reads a one-hot vector of vocabulary size.</summary>
    public int EmbeddingSize { get; }

    /// <summary>Unicode scalar values in id order: id <c>i</c> is the character <c>Vocabulary[i]</c>.</summary>
    public IReadOnlyList<int> Vocabulary => _vocabulary;

    /// <summary>Number of distinct symbols.</summary>
    public int VocabularySize => _vocabulary.Length;

    /// <summary>Gate blocks per cell: 1 for RNN, 3 for GRU (r,z,n), 4 for LSTM (i,f,g,o).</summary>
    public int GateCount => GateCountOf(Cell);

    /// <summary>Width of the vector the first recurrent layer reads: the embedding size, or the vocabulary size in one-hot mode.</summary>
    public int InputSize => EmbeddingSize == 0 ? VocabularySize : EmbeddingSize;

    /// <summary>True when the first layer reads a one-hot vector instead of an embedding row.</summary>
    public bool IsOneHot => EmbeddingSize == 0;

    /// <summary>Width of the vector that layer <paramref name="layer"/> reads.</summary>
    public int LayerInputSize(int layer) => layer == 0 ? InputSize : HiddenSize;

    /// <summary>Number of state vectors per layer a generator keeps: h, plus c for LSTM.</summary>
    public int StateVectorsPerLayer => Cell == CellKind.Lstm ? 2 : 1;

    /// <summary>Gate blocks per cell kind.</summary>
    public static int GateCountOf(CellKind cell) => cell switch
    {
        CellKind.Rnn => 1,
        CellKind.Gru => 3,
        CellKind.Lstm => 4,
        _ => throw new ArgumentOutOfRangeException(nameof(cell)),
    };

    /// <summary>PyTorch's name for layer <paramref name="layer"/>'s input weights, shape (gates*hidden, input).</summary>
    public static string WeightIhName(int layer) => $"rnn.weight_ih_l{layer}";

    /// <summary>PyTorch's name for layer <paramref name="layer"/>'s recurrent weights, shape (gates*hidden, hidden).</summary>
    public static string WeightHhName(int layer) => $"rnn.weight_hh_l{layer}";

    /// <summary>PyTorch's name for layer <paramref name="layer"/>'s input bias, shape (gates*hidden).</summary>
    public static string BiasIhName(int layer) => $"rnn.bias_ih_l{layer}";

    /// <summary>PyTorch's name for layer <paramref name="layer"/>'s recurrent bias, shape (gates*hidden).</summary>
    public static string BiasHhName(int layer) => $"rnn.bias_hh_l{layer}";

    /// <summary>
    /// Every tensor this architecture needs, in canonical file order, with its exact shape. The names are the
    /// trainer's <c>state_dict</c> names (modules <c>embedding</c>, <c>rnn</c>, <c>head</c>), so weights map 1:1.
    /// </summary>
    public IReadOnlyList<TensorSpec> ExpectedTensors()
    {
        var specs = new List<TensorSpec>();
        int gates = GateCount * HiddenSize;
        if (!IsOneHot) specs.Add(new TensorSpec(EmbeddingName, new[] { VocabularySize, EmbeddingSize }));
        for (int layer = 0; layer < Layers; layer++)
        {
            specs.Add(new TensorSpec(WeightIhName(layer), new[] { gates, LayerInputSize(layer) }));
            specs.Add(new TensorSpec(WeightHhName(layer), new[] { gates, HiddenSize }));
            specs.Add(new TensorSpec(BiasIhName(layer), new[] { gates }));
            specs.Add(new TensorSpec(BiasHhName(layer), new[] { gates }));
        }
        specs.Add(new TensorSpec(HeadWeightName, new[] { VocabularySize, HiddenSize }));
        specs.Add(new TensorSpec(HeadBiasName, new[] { VocabularySize }));
        return specs;
    }

    /// <summary>Total number of weights across <see cref="ExpectedTensors"/>.</summary>
    public long ParameterCount()
    {
        long total = 0;
        foreach (var spec in ExpectedTensors()) total += spec.ElementCount;
        return total;
    }

    // The checks below are shared with the file reader, so a file and a constructor call are held to the same rules.
    // They take long so the reader can pass any integer the file holds without first narrowing it.

    internal static string? LayersProblem(long layers)
        => layers is < 1 or > MaxLayers ? $"layer count {layers} is outside 1..{MaxLayers}" : null;

    internal static string? HiddenSizeProblem(long hiddenSize)
        => hiddenSize is < 1 or > MaxHiddenSize ? $"hidden size {hiddenSize} is outside 1..{MaxHiddenSize}" : null;

    internal static string? EmbeddingSizeProblem(long embeddingSize)
        => embeddingSize is < 0 or > MaxEmbeddingSize ? $"embedding size {embeddingSize} is outside 0..{MaxEmbeddingSize} (0 means one-hot)" : null;

    internal static string? VocabularySizeProblem(long count)
        => count is < 1 or > MaxVocabularySize ? $"vocabulary size {count} is outside 1..{MaxVocabularySize}" : null;

    /// <summary>Checks entry <paramref name="id"/> and records it in <paramref name="firstIdOf"/> (scalar → first id).</summary>
    internal static string? VocabularyEntryProblem(int id, long scalar, Dictionary<int, int> firstIdOf)
    {
        if (scalar is < 0 or > 0x10FFFF || !IsUnicodeScalar((int)scalar))
        {
            string shown = scalar < 0 ? scalar.ToString(CultureInfo.InvariantCulture) : $"0x{scalar:X}";
            return $"vocabulary entry {id} ({shown}) is not a Unicode scalar value (surrogates and values above 0x10FFFF are not characters)";
        }
        if (firstIdOf.TryGetValue((int)scalar, out int first)) return $"vocabulary entry {id} (U+{scalar:X4}) duplicates entry {first}";
        firstIdOf.Add((int)scalar, id);
        return null;
    }

    private static void Require(string? problem, string parameter)
    {
        if (problem is not null) throw new ArgumentException(problem, parameter);
    }

    /// <summary>True for 0..0x10FFFF excluding the surrogate range, the values a <c>System.Text.Rune</c> can hold.</summary>
    public static bool IsUnicodeScalar(int value) => (uint)value <= 0x10FFFF && (value < 0xD800 || value > 0xDFFF);
}

/// <summary>A tensor an architecture requires: its name and exact shape.</summary>
public sealed class TensorSpec
{
    /// <summary>Creates a spec.</summary>
    public TensorSpec(string name, int[] shape)
    {
        Name = name;
        Shape = shape;
    }

    /// <summary>PyTorch <c>state_dict</c> name.</summary>
    public string Name { get; }

    /// <summary>Dimensions, outermost first (row-major).</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>Product of the dimensions.</summary>
    public long ElementCount => TensorShape.ElementCount(Shape);
}
