using TextGen.Runtime.Format;

namespace TextGen.Benchmarks.Models;

/// <summary>Small models with seeded random weights: the fuzzer's seed corpus, and the tests' format, kernel and parity cases.</summary>
internal static class RandomModels
{
    /// <summary>Printable ASCII from space, then <paramref name="size"/> symbols in all.</summary>
    public static int[] AsciiVocabulary(int size) => Enumerable.Range(32, size).ToArray();

    /// <summary>An architecture over <see cref="AsciiVocabulary"/>.</summary>
    public static ModelArchitecture Architecture(CellKind cell, int layers = 1, int hidden = 8, int embedding = 4, int vocab = 10)
        => new(cell, layers, hidden, embedding, AsciiVocabulary(vocab));

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
