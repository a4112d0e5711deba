using TextGen.Runtime.Format;
using TextGen.Runtime.Generation;
using TextGen.Runtime.Kernels;
using TextGen.Runtime.Model;
using TextGen.Runtime.Sampling;
using TextGen.Tests.Kernels;

namespace TextGen.Tests.Generation;

internal sealed class DeterminismTests
{
    private static readonly SamplingOptions Sampling = new() { Temperature = 0.9, TopK = 20, TopP = 0.95 };

    [Test]
    public void TheSameSeedGivesTheSameText()
    {
        TextModel model = TestModels.Create();
        var options = new GeneratorOptions { Seed = 77, Sampling = Sampling };
        string first = model.CreateGenerator(options).GenerateString(500);
        Assert.That(TestModels.Create().CreateGenerator(options).GenerateString(500), Is.EqualTo(first), "a freshly loaded model");
        Assert.That(model.CreateGenerator(options).GenerateString(500), Is.EqualTo(first));
    }

    [Test]
    public void DifferentSeedsGiveDifferentText()
    {
        TextModel model = TestModels.Create();
        var texts = Enumerable.Range(0, 5).Select(seed => model.CreateGenerator(new GeneratorOptions { Seed = (ulong)seed, Sampling = Sampling }).GenerateString(200)).ToList();
        Assert.That(texts.Distinct().Count(), Is.EqualTo(5));
    }

    [Test]
    public void GeneratorsInterleavedOnSeveralThreadsProduceWhatTheyProduceAlone()
    {
        TextModel model = TestModels.Create(CellKind.Lstm, hidden: 32);
        const int Threads = 4, Length = 1500;
        string[] alone = Enumerable.Range(0, Threads)
            .Select(t => model.CreateGenerator(new GeneratorOptions { Seed = (ulong)t, Sampling = Sampling }).GenerateString(Length)).ToArray();

        var together = new string[Threads];
        using var start = new Barrier(Threads);
        var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            TextGenerator generator = model.CreateGenerator(new GeneratorOptions { Seed = (ulong)t, Sampling = Sampling });
            var text = new char[Length];
            start.SignalAndWait();
            for (int i = 0; i < Length; i++)
            {
                text[i] = (char)generator.NextChar();
                if (i % 50 == 0) Thread.Yield();
            }
            together[t] = new string(text);
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.That(together, Is.EqualTo(alone));
    }

    [TestCase(CellKind.Rnn)]
    [TestCase(CellKind.Gru)]
    [TestCase(CellKind.Lstm)]
    public void StrictModeGivesIdenticalTextOnEveryKernelPath(CellKind cell)
    {
        // hidden 20 and vocabulary 37 leave tails on every vector width
        TextModel model = TestModels.Create(cell, layers: 2, hidden: 20, embedding: 6, vocab: 37);
        var texts = AllKernelPaths.Paths.ToDictionary(path => path, path =>
        {
            TextGenerator generator = model.CreateGenerator(new GeneratorOptions { Seed = 9, StrictDeterminism = true, KernelPath = path, Sampling = Sampling });
            generator.Prime("+,-./");
            return generator.GenerateString(600);
        });
        foreach (KernelPath path in AllKernelPaths.Paths) Assert.That(texts[path], Is.EqualTo(texts[KernelPath.Scalar]), $"{path}");
    }

    [Test]
    public void StrictModeLogitsAreBitIdenticalOnEveryKernelPath()
    {
        TextModel model = TestModels.Create(CellKind.Lstm, layers: 3, hidden: 20, embedding: 0, vocab: 37);
        var reference = model.CreateGenerator(new GeneratorOptions { StrictDeterminism = true, KernelPath = KernelPath.Scalar });
        var others = AllKernelPaths.Paths.Select(p => model.CreateGenerator(new GeneratorOptions { StrictDeterminism = true, KernelPath = p })).ToList();
        for (int step = 0; step < 40; step++)
        {
            reference.FeedToken(step % 37);
            foreach (TextGenerator g in others)
            {
                g.FeedToken(step % 37);
                Assert.That(g.Logits.ToArray(), Is.EqualTo(reference.Logits.ToArray()), $"{g.Options.KernelPath} step {step}");
            }
        }
    }
}
