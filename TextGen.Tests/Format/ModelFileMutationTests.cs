using System.Diagnostics;
using TextGen.Benchmarks;
using TextGen.Runtime.Format;
using TextGen.Runtime.Generation;
using TextGen.Runtime.Model;
using TextGen.Runtime.Sampling;
using TextGen.Tests.Support;

namespace TextGen.Tests.Format;

/// <summary>
/// Hostile weight files (issue #7 §1): a hundred thousand seeded mutations of small valid files. Each must be
/// refused with a <see cref="ModelFormatException"/>, or load and generate; nothing else may happen, no load may
/// hang, and no load may allocate more than docs/format.md promises for its size. Two thirds of the mutants get
/// their digests re-sealed, so that they are judged by the parser and the forward pass, not by the checksums.
/// </summary>
public sealed class ModelFileMutationTests
{
    private const int Mutations = 100_000;
    private const int Seed = 7_001;

    // Only a guard against hangs: a case takes microseconds, so a whole second means a loop that does not end.
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(1);

    private static readonly SamplingOptions[] Samplings =
    {
        new(),
        new() { Temperature = 0.7, TopK = 3 },
        new() { TopP = 0.5 },
        new() { Temperature = 0 },
        new() { Temperature = 2, TopK = 1, TopP = 0.9 },
    };

    /// <summary>Small valid files: every cell, one-hot and embedding, two layers, a supplementary-plane character, rich metadata and unknown keys.</summary>
    internal static IReadOnlyList<byte[]> Corpus()
    {
        var metadata = new Dictionary<string, MetadataValue>
        {
            ["corpus_name"] = "tavern rumours ✓",
            ["corpus_sha256"] = new string('a', 64),
            ["steps"] = 3000,
            ["validation_loss"] = 1.2345,
            ["learning_rate"] = 2e-3,
            ["notes"] = new string('n', 300),
            ["ünïcödé key"] = "🙂",
        };
        var withMetadata = RandomModels.Create(RandomModels.Architecture(CellKind.Gru, hidden: 3, embedding: 2, vocab: 5), seed: 4);
        var newer = HandBuiltModelFile.From(RandomModels.Create(RandomModels.Architecture(CellKind.Rnn, hidden: 2, embedding: 0, vocab: 3), seed: 6));
        newer.Root["version"] = new List<object> { 1L, 7L };
        newer.Root.Insert(2, "future", new HandBuiltModelFile.Entries { ["list"] = new List<object> { 1L, "two", 3.0, new byte[] { 4 } } });
        newer.Tensor(0).Insert(2, "quantization", "none");
        return new[]
        {
            RandomModels.Create(RandomModels.Architecture(CellKind.Rnn, hidden: 3, embedding: 0, vocab: 5), seed: 1).ToBytes(),
            RandomModels.Create(RandomModels.Architecture(CellKind.Gru, layers: 2, hidden: 3, embedding: 2, vocab: 6), seed: 2).ToBytes(),
            RandomModels.Create(RandomModels.Architecture(CellKind.Lstm, hidden: 2, embedding: 3, vocab: 4), seed: 3).ToBytes(),
            RandomModels.Create(new ModelArchitecture(CellKind.Lstm, 1, 2, 0, new[] { 'a', 'é', 0x1F600 }), seed: 5).ToBytes(),
            new ModelFile(withMetadata.Architecture, withMetadata.Tensors, metadata).ToBytes(),
            newer.Compose(),
        };
    }

    [Test]
    public void EveryMutationIsRefusedOrLoadsAndGenerates()
    {
        var corpus = Corpus();
        foreach (byte[] file in corpus) Assert.That(Load(file, Samplings[0]).Failure, Is.Null, "the corpus is valid"); // also compiles every path once

        var mutator = new ModelFileMutator(Seed, corpus);
        var failures = new List<string>();
        int loaded = 0, checksumRefusals = 0, resealed = 0;
        var slowest = TimeSpan.Zero;
        double largestAllocationShare = 0;
        for (int i = 0; i < Mutations; i++)
        {
            byte[] bytes = mutator.Next(out string description);
            if (i % 3 != 0 && ModelFileSeal.TryReseal(bytes)) resealed++;
            var outcome = Load(bytes, Samplings[i % Samplings.Length]);

            string? failure = outcome.Failure;
            if (outcome.Elapsed > HangGuard) failure ??= $"took {outcome.Elapsed.TotalMilliseconds:F0} ms";
            long budget = ModelFileAllocation.Budget(bytes.Length);
            if (outcome.Allocated > budget) failure ??= $"allocated {outcome.Allocated} bytes loading {bytes.Length}; the budget is {budget}";
            if (failure is not null && failures.Count < 20) failures.Add($"case {i} ({description}; {bytes.Length} bytes): {failure}");

            if (outcome.Loaded) loaded++;
            if (outcome.Refusal?.Contains("checksum mismatch", StringComparison.Ordinal) == true) checksumRefusals++;
            if (outcome.Elapsed > slowest) slowest = outcome.Elapsed;
            largestAllocationShare = Math.Max(largestAllocationShare, (double)outcome.Allocated / budget);
        }

        TestContext.Out.WriteLine($"{Mutations} mutations, {resealed} re-sealed: {loaded} loaded and generated, {checksumRefusals} refused by a checksum, " +
            $"{Mutations - loaded - checksumRefusals} refused by the parser; slowest {slowest.TotalMilliseconds:F1} ms; largest allocation {largestAllocationShare:P0} of its budget");
        Assert.That(failures, Is.Empty);
        // The mutations must reach past the digests: most are judged by the parser, and some valid models come out.
        Assert.That(checksumRefusals, Is.LessThan(Mutations / 2));
        Assert.That(loaded, Is.GreaterThan(Mutations / 100));
    }

    [Test]
    public void AStreamedLoadJudgesEveryMutationAsTheLoadFromBytesDoes()
    {
        // Load(path) and Load(seekable stream) parse as they read (StreamedFileBytes), a second way into the parser:
        // on every mutant it must refuse with the same message, or load a model that writes the same text.
        // Plus a file larger than the streamed reader's first read (StreamedFileBytes.ReadAheadBytes), so that its
        // payloads are also pulled from the stream as the parser reaches them, not only served from that first buffer.
        byte[] larger = RandomModels.Create(RandomModels.Architecture(CellKind.Lstm, hidden: 24, embedding: 4, vocab: 8), seed: 8).ToBytes();
        Assert.That(larger, Has.Length.GreaterThan(2 * StreamedFileBytes.ReadAheadBytes));
        var mutator = new ModelFileMutator(Seed + 1, Corpus().Append(larger).ToArray());
        var differences = new List<string>();
        int loaded = 0;
        for (int i = 0; i < Mutations / 4; i++)
        {
            byte[] bytes = mutator.Next(out string description);
            if (i % 3 != 0) ModelFileSeal.TryReseal(bytes);
            string fromBytes = Judge(() => TextModel.Load(bytes, ModelFileAssert.Source));
            string streamed = Judge(() => TextModel.Load(new MemoryStream(bytes, writable: false), ModelFileAssert.Source));
            if (fromBytes.StartsWith("text:", StringComparison.Ordinal)) loaded++;
            if (streamed != fromBytes && differences.Count < 10) differences.Add($"case {i} ({description}; {bytes.Length} bytes): from bytes «{fromBytes}», streamed «{streamed}»");
        }
        Assert.That(differences, Is.Empty);
        Assert.That(loaded, Is.GreaterThan(Mutations / 400), "some mutants must load, so that models are compared too");
    }

    /// <summary>The fuzz target's judgement (<see cref="TgmFuzzing.Judge"/>), with any other exception as an outcome of its own.</summary>
    private static string Judge(Func<TextModel> load)
    {
        try
        {
            return TgmFuzzing.Judge(load);
        }
        catch (Exception e)
        {
            return $"threw {e.GetType().Name}: {e.Message}";
        }
    }

    private sealed record Outcome(bool Loaded, string? Refusal, string? Failure, long Allocated, TimeSpan Elapsed);

    /// <summary>Loads <paramref name="bytes"/>; a loaded model must then generate 20 chars.</summary>
    private static Outcome Load(byte[] bytes, SamplingOptions sampling)
    {
        var clock = Stopwatch.StartNew();
        long before = GC.GetAllocatedBytesForCurrentThread();
        TextModel model;
        try
        {
            model = TextModel.Load(bytes, ModelFileAssert.Source);
        }
        catch (ModelFormatException e)
        {
            return new Outcome(false, e.Message, null, GC.GetAllocatedBytesForCurrentThread() - before, clock.Elapsed);
        }
        catch (Exception e)
        {
            return new Outcome(false, null, $"load threw {e.GetType().Name}: {e.Message}", GC.GetAllocatedBytesForCurrentThread() - before, clock.Elapsed);
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        try
        {
            // Banning a character also exercises the filter; a one-character vocabulary keeps it.
            string banned = model.VocabularySize > 1 ? char.ConvertFromUtf32(model.GetScalar(0)) : "";
            var generator = model.CreateGenerator(new GeneratorOptions { Seed = (ulong)bytes.Length, Sampling = sampling with { BannedCharacters = banned } });
            string text = generator.GenerateString(20);
            // A supplementary-plane character is never split, so the text may stop one char short.
            string? failure = text.Length >= 19 ? null : $"generated only {text.Length} chars";
            if (failure is null && banned.Length > 0 && text.Contains(banned, StringComparison.Ordinal)) failure = $"generated the banned character {banned}";
            return new Outcome(true, null, failure, allocated, clock.Elapsed);
        }
        catch (Exception e)
        {
            return new Outcome(true, null, $"generation threw {e.GetType().Name}: {e.Message}", allocated, clock.Elapsed);
        }
    }
}
