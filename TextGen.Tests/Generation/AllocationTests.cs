using TextGen.Runtime.Format;
using TextGen.Runtime.Generation;
using TextGen.Runtime.Model;
using TextGen.Runtime.Sampling;
using TextGen.Tests.Support;

namespace TextGen.Tests.Generation;

/// <summary>Steady-state generation allocates nothing: measured on this thread over 10,000 characters after a warm-up.</summary>
internal sealed class AllocationTests
{
    private const int Characters = 10_000;

    private static readonly GeneratorOptions Options = new()
    {
        Seed = 2,
        Sampling = new SamplingOptions { Temperature = 0.8, TopK = 12, TopP = 0.9, BannedCharacters = "#" },
        // long enough to hold characters back now and then, unlikely to ever complete
        StopStrings = new[] { "!!!!!!!!!!!!", "$%$%$%$%$%" },
    };

    [TestCase(CellKind.Rnn)]
    [TestCase(CellKind.Gru)]
    [TestCase(CellKind.Lstm)]
    public void NextCharAllocatesNothing(CellKind cell)
    {
        TextGenerator generator = TestModels.Create(cell, layers: 2, hidden: 48, vocab: 40).CreateGenerator(Options);
        WarmUp(() => generator.NextChar());
        int produced = 0;
        long allocated = ThreadAllocations.During(() =>
        {
            produced = 0; // During may run the action again: each run counts its own characters
            for (int i = 0; i < Characters; i++)
            {
                if (generator.NextChar() >= 0) produced++;
            }
        });
        Assert.That(produced, Is.EqualTo(Characters));
        Assert.That(allocated, Is.Zero);
    }

    [TestCase(CellKind.Rnn)]
    [TestCase(CellKind.Gru)]
    [TestCase(CellKind.Lstm)]
    public void SpanGenerateAllocatesNothing(CellKind cell)
    {
        TextGenerator generator = TestModels.Create(cell, layers: 2, hidden: 48, vocab: 40).CreateGenerator(Options);
        var buffer = new char[100];
        WarmUp(() => generator.Generate(buffer));
        int produced = 0;
        Assert.That(ThreadAllocations.During(() =>
        {
            produced = 0; // During may run the action again: each run generates as many characters
            while (produced < Characters) produced += generator.Generate(buffer);
        }), Is.Zero);
    }

    /// <summary>
    /// At least 1,000 steps and half a second: tiered compilation promotes hot methods only after 100 ms without new
    /// JIT work, and a promotion that starts inside the measured window can charge the runtime's own bookkeeping to this
    /// thread (once seen in a full-suite run, never alone). A real allocation per character shows in any window.
    /// </summary>
    private static void WarmUp(Action step)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < 1_000 || clock.ElapsedMilliseconds < 500; i++) step();
    }

    [Test]
    public void PrimingAndFeedingAllocateNothing()
    {
        TextGenerator generator = TestModels.Create().CreateGenerator(Options);
        generator.Prime("$%&'()*+,-.");
        Assert.That(ThreadAllocations.During(() =>
        {
            for (int i = 0; i < 500; i++)
            {
                generator.Prime("$%&'()*+,-.".AsSpan());
                generator.FeedToken(i % 30);
            }
        }), Is.Zero);
    }
}
