using TextGen.Runtime.Format;
using TextGen.Runtime.Generation;
using TextGen.Runtime.Kernels;
using TextGen.Runtime.Model;
using TextGen.Tests.Kernels;
using TextGen.Tests.Support;

namespace TextGen.Tests.Cells;

/// <summary>The runtime's logits against <see cref="ReferenceModel"/> step by step, on every kernel path and mode.</summary>
internal sealed class ForwardParityTests
{
    private const int Steps = 24;

    private static IEnumerable<TestCaseData> Models()
    {
        foreach (CellKind cell in new[] { CellKind.Rnn, CellKind.Gru, CellKind.Lstm })
        foreach (int layers in new[] { 1, 2, 3 })
        foreach (int embedding in new[] { 0, 5 })
        {
            // hidden 13 and vocabulary 11 leave tails on every path; hidden 32 runs whole 16-lane blocks
            foreach (int hidden in new[] { 13, 32 })
            {
                yield return new TestCaseData(cell, layers, embedding, hidden).SetArgDisplayNames($"{cell} ×{layers} emb {embedding} hidden {hidden}");
            }
        }
    }

    [TestCaseSource(nameof(Models))]
    public void LogitsMatchTheReferenceOnEveryPath(CellKind cell, int layers, int embedding, int hidden)
    {
        ModelFile file = RandomModels.Create(RandomModels.Architecture(cell, layers, hidden, embedding, vocab: 11), seed: layers * 100 + hidden);
        var model = TextModel.FromFile(file);
        // Embedding models also run without the first-layer input table (the path huge vocabularies take).
        var models = embedding == 0 ? new[] { model } : new[] { model, TextModel.FromFile(file, maxInputTableFloats: 0) };
        int[] tokens = Enumerable.Range(0, Steps).Select(i => (i * 7 + 3) % 11).ToArray();
        foreach (TextModel m in models)
        foreach (KernelPath path in AllKernelPaths.Paths)
        foreach (bool strict in new[] { true, false })
        {
            var reference = new ReferenceModel(file);
            TextGenerator generator = m.CreateGenerator(new GeneratorOptions { KernelPath = path, StrictDeterminism = strict });
            AssertClose(generator.Logits, reference.Logits(), $"{path} strict={strict} before input");
            for (int s = 0; s < Steps; s++)
            {
                reference.Step(tokens[s]);
                generator.FeedToken(tokens[s]);
                AssertClose(generator.Logits, reference.Logits(), $"{path} strict={strict} step {s}");
            }
        }
    }

    [Test]
    public void TheInputTableDoesNotChangeTheResultBeyondRounding()
    {
        ModelFile file = RandomModels.Create(RandomModels.Architecture(CellKind.Gru, 2, 16, 8, vocab: 20), seed: 5);
        TextGenerator withTable = TextModel.FromFile(file).CreateGenerator();
        TextGenerator without = TextModel.FromFile(file, maxInputTableFloats: 0).CreateGenerator();
        Assert.That(TextModel.FromFile(file).Weights.InputTable, Is.Not.Empty);
        Assert.That(TextModel.FromFile(file, 0).Weights.InputTable, Is.Empty);
        for (int t = 0; t < 20; t++)
        {
            withTable.FeedToken(t);
            without.FeedToken(t);
            for (int v = 0; v < 20; v++) Assert.That(withTable.Logits[v], Is.EqualTo(without.Logits[v]).Within(1e-6));
        }
    }

    [Test]
    public void EachInputTableRowHasTheBitsOfItsTokensOwnProduct()
    {
        // The table is one batched product over every token's embedding (100 rows and 13 tokens: whole and partial
        // tiles of both); row t must be what the strict single product of token t's embedding gives, bit for bit.
        ModelFile file = RandomModels.Create(RandomModels.Architecture(CellKind.Lstm, 1, 25, 40, vocab: 13), seed: 8);
        ModelWeights weights = TextModel.FromFile(file).Weights;
        WeightRows inputWeights = WeightRows.FromTensor(file.GetTensor(ModelArchitecture.WeightIhName(0)));
        float[] embedding = file.GetTensor(ModelArchitecture.EmbeddingName).Float32Values();
        Assert.That(weights.InputTable, Has.Length.EqualTo(13 * 100));
        var expected = new float[100];
        for (int t = 0; t < 13; t++)
        {
            MatrixVector.Multiply(KernelMode.Best(strict: true), inputWeights, embedding.AsSpan(t * 40, 40), weights.Layers[0].Bias, expected);
            Assert.That(weights.InputTable.AsSpan(t * 100, 100).ToArray().Select(BitConverter.SingleToInt32Bits), Is.EqualTo(expected.Select(BitConverter.SingleToInt32Bits)), $"token {t}");
        }
    }

    private static void AssertClose(ReadOnlySpan<float> actual, double[] expected, string where)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length));
        for (int v = 0; v < expected.Length; v++) Assert.That(actual[v], Is.EqualTo(expected[v]).Within(1e-5), $"{where}, logit {v}");
    }
}
