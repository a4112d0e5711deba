using TextGen.Runtime.Kernels;
using TextGen.Runtime.Model;
using TextGen.Runtime.Sampling;
using TextGen.Tests.Kernels;

namespace TextGen.Tests.Sampling;

internal sealed class SamplerTests
{
    private static readonly Vocabulary Letters = new("abcdefgh".Select(c => (int)c).ToArray());

    [Test]
    public void TemperatureZeroTakesTheArgmaxAndDrawsNothing()
    {
        var random = new Random(41);
        Sampler sampler = Create(new SamplingOptions { Temperature = 0 });
        ulong before = sampler.Random.State;
        for (int trial = 0; trial < 200; trial++)
        {
            float[] logits = AllKernelPaths.RandomFloats(random, 8, 3f);
            Assert.That(sampler.Sample(logits), Is.EqualTo(Argmax(logits)));
        }
        Assert.That(sampler.Random.State, Is.EqualTo(before));
        Assert.That(sampler.Sample(new[] { 1f, 5f, 5f, 0f, 0f, 0f, 0f, 0f }), Is.EqualTo(1), "ties go to the lowest id");
    }

    [Test]
    public void TopKOfOneTakesTheArgmax()
    {
        var random = new Random(42);
        Sampler sampler = Create(new SamplingOptions { TopK = 1, Temperature = 1.5 });
        for (int trial = 0; trial < 200; trial++)
        {
            float[] logits = AllKernelPaths.RandomFloats(random, 8, 3f);
            Assert.That(sampler.Sample(logits), Is.EqualTo(Argmax(logits)));
        }
    }

    [Test]
    public void ATinyTopPTakesTheArgmax()
    {
        var random = new Random(43);
        Sampler sampler = Create(new SamplingOptions { TopP = 1e-9 });
        for (int trial = 0; trial < 200; trial++)
        {
            float[] logits = AllKernelPaths.RandomFloats(random, 8, 3f);
            Assert.That(sampler.Sample(logits), Is.EqualTo(Argmax(logits)));
        }
    }

    [Test]
    public void BannedCharactersNeverAppearEvenWhenTheyAreTheMostLikely()
    {
        Sampler sampler = Create(new SamplingOptions { BannedCharacters = "bd", TopK = 3, Temperature = 2 });
        float[] logits = { 0f, 9f, 0.5f, 8f, 0.2f, 0.1f, 0f, 0f };
        var seen = new HashSet<int>();
        for (int i = 0; i < 5_000; i++) seen.Add(sampler.Sample(logits));
        Assert.That(seen, Does.Not.Contain(1).And.Not.Contain(3));
        Assert.That(seen, Is.EquivalentTo(new[] { 2, 4, 5 }), "top-3 of what is left: c 0.5, e 0.2, f 0.1");
        Assert.That(Create(new SamplingOptions { BannedCharacters = "bd", Temperature = 0 }).Sample(logits), Is.EqualTo(2));
    }

    [Test]
    public void OnlyAllowedCharactersAppear()
    {
        Sampler sampler = Create(new SamplingOptions { AllowedCharacters = "aceXYZ", BannedCharacters = "e" });
        float[] logits = { 0f, 3f, 0f, 3f, 0f, 3f, 3f, 3f };
        var seen = new HashSet<int>();
        for (int i = 0; i < 5_000; i++) seen.Add(sampler.Sample(logits));
        Assert.That(seen, Is.EquivalentTo(new[] { 0, 2 }));
    }

    [Test]
    public void FilteringAwayEveryCharacterIsRefused()
    {
        var error = Assert.Throws<ArgumentException>(() => Create(new SamplingOptions { AllowedCharacters = "ab", BannedCharacters = "ab" }))!;
        Assert.That(error.Message, Does.Contain("no character"));
        Assert.Throws<ArgumentException>(() => Create(new SamplingOptions { AllowedCharacters = "xyz" }));
    }

    [TestCaseSource(typeof(AllKernelPaths), nameof(AllKernelPaths.PathCases))]
    public void DrawsFollowTheTemperedDistribution(KernelPath path)
    {
        float[] logits = { 0.3f, -1.2f, 2.0f, 0.0f, 1.1f, -0.4f, 0.9f, -2.5f };
        double[] expected = Softmax(logits, 0.8);
        int[] counts = Draw(Create(new SamplingOptions { Temperature = 0.8 }, path), logits, 40_000);
        // 99.9th percentile of chi-square with 7 degrees of freedom
        Assert.That(ChiSquare(counts, expected), Is.LessThan(24.32));
    }

    [Test]
    public void TopKRenormalizesOverTheKMostLikely()
    {
        float[] logits = { 0.3f, -1.2f, 2.0f, 0.0f, 1.1f, -0.4f, 0.9f, -2.5f };
        int[] counts = Draw(Create(new SamplingOptions { TopK = 3 }), logits, 30_000);
        int[] kept = { 2, 4, 6 };
        double[] expected = Softmax(kept.Select(i => logits[i]).ToArray(), 1.0);
        for (int i = 0; i < 8; i++)
        {
            if (!kept.Contains(i)) Assert.That(counts[i], Is.Zero, $"id {i} is outside the top 3");
        }
        // 99.9th percentile of chi-square with 2 degrees of freedom
        Assert.That(ChiSquare(kept.Select(i => counts[i]).ToArray(), expected), Is.LessThan(13.82));
    }

    [Test]
    public void TopPKeepsTheSmallestNucleusReachingP()
    {
        // probabilities 0.5, 0.3, 0.15, 0.05 (and 0 for the rest): with p = 0.7 the nucleus is {0, 1}
        float[] logits = { MathF.Log(0.5f), MathF.Log(0.3f), MathF.Log(0.15f), MathF.Log(0.05f), float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity };
        int[] counts = Draw(Create(new SamplingOptions { TopP = 0.7 }), logits, 20_000);
        Assert.That(counts.Skip(2), Is.All.Zero);
        Assert.That(ChiSquare(counts.Take(2).ToArray(), new[] { 0.5 / 0.8, 0.3 / 0.8 }), Is.LessThan(10.83));
        int[] wider = Draw(Create(new SamplingOptions { TopP = 0.85 }), logits, 5_000);
        Assert.That(wider[2], Is.GreaterThan(0), "0.8 < 0.85, so the third joins");
        Assert.That(wider[3], Is.Zero);
    }

    // Huge but finite weights overflow the forward pass into these; top-k and top-p once found no candidate and
    // indexed before their first one (found by ModelFileMutationTests).
    private static IEnumerable<TestCaseData> OverflowedLogits()
    {
        const float Inf = float.PositiveInfinity, NaN = float.NaN;
        yield return new TestCaseData(new[] { Inf, 0f, Inf, 0f, 0f, 0f, 0f, 0f }, new[] { 0, 2 }).SetArgDisplayNames("+inf shares the draw");
        yield return new TestCaseData(new[] { NaN, 1f, NaN, 3f, 0f, 0f, 0f, 0f }, new[] { 1, 3, 4, 5, 6, 7 }).SetArgDisplayNames("NaN is never drawn");
        yield return new TestCaseData(Enumerable.Repeat(NaN, 8).ToArray(), new[] { 0 }).SetArgDisplayNames("all NaN: the first allowed id");
        yield return new TestCaseData(Enumerable.Repeat(-Inf, 8).ToArray(), new[] { 0 }).SetArgDisplayNames("all -inf: the first allowed id");
        yield return new TestCaseData(new[] { -Inf, NaN, Inf, -float.MaxValue, float.MaxValue, 0f, 0f, 0f }, new[] { 2, 4 }).SetArgDisplayNames("mixed extremes");
    }

    [TestCaseSource(nameof(OverflowedLogits))]
    public void OverflowedLogitsDrawAnAllowedCharacterUnderEveryOption(float[] logits, int[] possible)
    {
        var options = new[]
        {
            new SamplingOptions(),
            new SamplingOptions { TopK = 3, Temperature = 0.7 },
            new SamplingOptions { TopP = 0.5 },
            new SamplingOptions { Temperature = 0 },
        };
        foreach (var option in options)
        {
            Sampler sampler = Create(option);
            var drawn = Enumerable.Range(0, 200).Select(_ => sampler.Sample(logits)).Distinct().ToArray();
            Assert.That(possible, Is.SupersetOf(drawn), option.ToString());
        }
        Sampler banned = Create(new SamplingOptions { BannedCharacters = "a", TopK = 2 });
        Assert.That(banned.Sample(Enumerable.Repeat(float.NaN, 8).ToArray()), Is.EqualTo(1), "the first id that is not banned");
    }

    [Test]
    public void InvalidOptionsNameTheOption()
    {
        Assert.That(Assert.Throws<ArgumentException>(() => _ = new SamplingOptions { Temperature = double.NaN })!.ParamName, Is.EqualTo("Temperature"));
        Assert.That(Assert.Throws<ArgumentException>(() => _ = new SamplingOptions { Temperature = -0.1 })!.ParamName, Is.EqualTo("Temperature"));
        Assert.That(Assert.Throws<ArgumentException>(() => _ = new SamplingOptions { Temperature = double.PositiveInfinity })!.ParamName, Is.EqualTo("Temperature"));
        Assert.That(Assert.Throws<ArgumentException>(() => _ = new SamplingOptions { TopK = -1 })!.ParamName, Is.EqualTo("TopK"));
        Assert.That(Assert.Throws<ArgumentException>(() => _ = new SamplingOptions { TopP = 0 })!.ParamName, Is.EqualTo("TopP"));
        Assert.That(Assert.Throws<ArgumentException>(() => _ = new SamplingOptions { TopP = 1.5 })!.ParamName, Is.EqualTo("TopP"));
        Assert.That(Assert.Throws<ArgumentException>(() => _ = new SamplingOptions { TopP = double.NaN })!.ParamName, Is.EqualTo("TopP"));
        Assert.That(Assert.Throws<ArgumentException>(() => _ = new SamplingOptions { AllowedCharacters = "" })!.ParamName, Is.EqualTo("AllowedCharacters"));
        Assert.That(Assert.Throws<ArgumentException>(() => _ = new SamplingOptions { BannedCharacters = "a\uD800" })!.ParamName, Is.EqualTo("BannedCharacters"));
        Assert.That(Assert.Throws<ArgumentException>(() => _ = new SamplingOptions { BannedCharacters = null! })!.ParamName, Is.EqualTo("BannedCharacters"));
        var valid = new SamplingOptions { Temperature = 0.7 };
        Assert.That(Assert.Throws<ArgumentException>(() => _ = valid with { TopP = -1 })!.ParamName, Is.EqualTo("TopP"), "with-expressions validate too");
    }

    private static Sampler Create(SamplingOptions options, KernelPath path = KernelPath.Scalar) => new(options, Letters, path, Pcg32.Seeded(99, 1));

    private static int Argmax(float[] values) => Array.IndexOf(values, values.Max());

    private static int[] Draw(Sampler sampler, float[] logits, int draws)
    {
        var counts = new int[logits.Length];
        for (int i = 0; i < draws; i++) counts[sampler.Sample(logits)]++;
        return counts;
    }

    private static double[] Softmax(float[] logits, double temperature)
    {
        double[] e = logits.Select(l => Math.Exp(l / temperature)).ToArray();
        return e.Select(v => v / e.Sum()).ToArray();
    }

    private static double ChiSquare(int[] counts, double[] probabilities)
    {
        double total = counts.Sum(), chi = 0;
        for (int i = 0; i < counts.Length; i++)
        {
            double expected = total * probabilities[i];
            chi += (counts[i] - expected) * (counts[i] - expected) / expected;
        }
        return chi;
    }
}
