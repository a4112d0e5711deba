using TextGen.Runtime.Format;

namespace TextGen.Benchmarks.Models;

/// <summary>
/// Models with seeded random weights: the fuzzer's seed corpus, the tests' format, kernel and parity cases, and the
/// speed comparison's extra sizes (speed depends on the shapes only, not on trained values).
/// </summary>
internal static class RandomModels
{
    /// <summary>Printable ASCII from space, then <paramref name="size"/> symbols in all.</summary>
    public static int[] AsciiVocabulary(int size) => Enumerable.Range(32, size).ToArray();

    /// <summary>An architecture over <see cref="AsciiVocabulary"/>.</summary>
    public static ModelArchitecture Architecture(CellKind cell, int layers = 1, int hidden = 8, int embedding = 4, int vocab = 10)
        => new(cell, layers, hidden, embedding, AsciiVocabulary(vocab));

    /// <summary>
    /// The speed comparison's extra models (issue #5): a 2-layer LSTM with embedding 64 and a 65-symbol vocabulary, as
    /// the shipped Shakespeare model has, at <paramref name="hidden"/> units; weights in PyTorch's default range
    /// ±1/√hidden, so the activations are as unsaturated as a freshly initialized model's.
    /// </summary>
    public static ModelFile ComparisonLstm(int hidden)
        => Create(Architecture(CellKind.Lstm, layers: 2, hidden: hidden, embedding: 64, vocab: 65), scale: 1f / MathF.Sqrt(hidden));

    /// <summary>
    /// A complete f32 model whose weights are uniform in ±<paramref name="scale"/> from a seeded
    /// <see cref="Random"/> (test data only; the Runtime never uses System.Random).
    /// </summary>
    public static ModelFile Create(ModelArchitecture architecture, int seed = 1, float scale = 0.5f)
    {
        var random = new Random(seed);
        var tensors = new List<ModelTensor>();
        foreach (var spec in architecture.ExpectedTensors())
        {
            var values = new float[spec.ElementCount];
            for (int i = 0; i < values.Length; i++) values[i] = (float)((random.NextDouble() * 2 - 1) * scale);
            tensors.Add(ModelTensor.FromFloat32(spec.Name, spec.Shape, values));
        }
        var metadata = new Dictionary<string, MetadataValue>
        {
            ["corpus_name"] = "random",
            ["steps"] = 0,
        };
        return new ModelFile(architecture, tensors, metadata);
    }
}
