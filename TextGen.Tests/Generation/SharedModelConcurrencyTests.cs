using TextGen.Runtime.Generation;
using TextGen.Runtime.Model;
using TextGen.Runtime.Sampling;

namespace TextGen.Tests.Generation;

/// <summary>
/// Issue #7 §3: one <see cref="TextModel"/> shared by many threads, each with its own <see cref="TextGenerator"/>,
/// must give every thread exactly the text a lone generator with the same options gives. A model that kept any
/// per-step state of its own, or a kernel that wrote to shared scratch, would mix the threads' texts.
/// </summary>
public sealed class SharedModelConcurrencyTests
{
    private const int Threads = 64;
    private const int TotalChars = 1_000_000;

    private static readonly SamplingOptions[] Samplings =
    {
        new(),
        new() { Temperature = 0.6, TopK = 5 },
        new() { Temperature = 1.3, TopP = 0.9 },
        new() { Temperature = 0 },
        new() { Temperature = 0.9, BannedCharacters = "!\"#" },
    };

    private static GeneratorOptions OptionsOf(int thread) => new()
    {
        Seed = (ulong)(thread * 7919 + 1),
        Sampling = Samplings[thread % Samplings.Length],
        StrictDeterminism = thread % 2 == 1,
        // Some threads also end and re-prime at a stop string, which exercises the window under contention.
        StopStrings = thread % 3 == 0 ? new[] { "#$" } : Array.Empty<string>(),
    };

    /// <summary>Generates <paramref name="length"/> chars, priming again whenever a stop string ends the text.</summary>
    private static string Generate(TextModel model, GeneratorOptions options, int length)
    {
        var generator = model.CreateGenerator(options);
        var text = new char[length];
        int filled = 0;
        generator.Prime("$");
        while (filled < length)
        {
            int written = generator.Generate(text.AsSpan(filled));
            if (written == 0) generator.Prime("$");
            filled += written;
        }
        return new string(text);
    }

    [Test]
    public void SixtyFourThreadsOnOneModelEachGenerateWhatALoneGeneratorDoes()
    {
        var model = TestModels.Create(layers: 1, hidden: 8, embedding: 4, vocab: 12);
        const int perThread = TotalChars / Threads;
        string[] expected = Enumerable.Range(0, Threads).Select(t => Generate(model, OptionsOf(t), perThread)).ToArray();

        var actual = new string?[Threads];
        var errors = new Exception?[Threads];
        using var start = new Barrier(Threads);
        var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            try
            {
                start.SignalAndWait();
                actual[t] = Generate(model, OptionsOf(t), perThread);
            }
            catch (Exception e)
            {
                errors[t] = e;
            }
        })).ToArray();
        foreach (var thread in threads) thread.Start();
        foreach (var thread in threads) thread.Join();

        Assert.That(errors.Where(e => e is not null), Is.Empty);
        Assert.That(actual.Sum(text => text!.Length), Is.EqualTo(TotalChars));
        for (int t = 0; t < Threads; t++) Assert.That(actual[t], Is.EqualTo(expected[t]), $"thread {t}, {OptionsOf(t)}");
        // Argmax threads (temperature 0) draw no random numbers and may agree; the others all differ, so a mix-up shows.
        Assert.That(expected.Distinct().Count(), Is.GreaterThan(Threads * 3 / 4), "different seeds give different texts");
    }
}
