using System.CommandLine;
using SharpFuzz;
using TextGen.Runtime.Format;
using TextGen.Runtime.Generation;
using TextGen.Runtime.Model;
using TextGen.Runtime.Sampling;
using TextGen.Benchmarks.Models;

namespace TextGen.Benchmarks;

/// <summary>
/// The <c>fuzz-tgm</c> command: a SharpFuzz target for the <c>*.tgm</c> reader (docs/fuzzing.md). An input must be
/// refused with <see cref="ModelFormatException"/> or load and generate; any other exception escapes and is the
/// crash the fuzzer reports. Under AFL++ (and when run by hand) the input comes on standard input; with
/// <c>--libfuzzer</c> it comes from libfuzzer-dotnet.
/// </summary>
internal static class TgmFuzzing
{
    /// <summary>The <c>fuzz-tgm</c> command.</summary>
    public static Command Command()
    {
        var libFuzzer = new Option<bool>("--libfuzzer") { Description = "Take inputs from libfuzzer-dotnet instead of AFL++ or standard input" };
        var writeCorpus = new Option<string?>("--write-corpus") { Description = "Write the seed corpus into this directory and exit" };
        var command = new Command("fuzz-tgm", "Fuzz target for the *.tgm reader (SharpFuzz: AFL++ or libFuzzer)") { libFuzzer, writeCorpus };
        command.SetAction(parse =>
        {
            if (parse.GetValue(writeCorpus) is string directory) return WriteCorpus(directory);
            if (parse.GetValue(libFuzzer)) Fuzzer.LibFuzzer.Run(input => LoadAndGenerate(input.ToArray()));
            else Fuzzer.OutOfProcess.Run(stream => LoadAndGenerate(ReadAll(stream)));
            return 0;
        });
        return command;
    }

    /// <summary>The property under test: refused with the one format exception, or a model that generates.</summary>
    private static void LoadAndGenerate(byte[] input)
    {
        TextModel model;
        try
        {
            model = TextModel.Load(input, "fuzz-input.tgm");
        }
        catch (ModelFormatException)
        {
            return;
        }
        // Top-k takes the sampler's sorting path, where overflowed logits once crashed it.
        var generator = model.CreateGenerator(new GeneratorOptions { Sampling = new SamplingOptions { Temperature = 0.8, TopK = 3 } });
        if (generator.GenerateString(20).Length < 19) throw new InvalidOperationException("a loaded model generated fewer than 19 chars");
    }

    private static byte[] ReadAll(Stream stream)
    {
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }

    /// <summary>Small valid files of every cell, one-hot and embedding: a fuzzer mutates from these, far deeper than from nothing.</summary>
    private static int WriteCorpus(string directory)
    {
        Directory.CreateDirectory(directory);
        int written = 0;
        foreach (var cell in new[] { CellKind.Rnn, CellKind.Gru, CellKind.Lstm })
        {
            foreach (int embedding in new[] { 0, 2 })
            {
                var model = RandomModels.Create(RandomModels.Architecture(cell, layers: embedding == 0 ? 1 : 2, hidden: 2, embedding: embedding, vocab: 4), seed: written);
                model.WriteFile(Path.Combine(directory, $"{cell.ToString().ToLowerInvariant()}-{(embedding == 0 ? "onehot" : "embedding")}.tgm"));
                written++;
            }
        }
        Console.WriteLine($"{written} seed files in {directory}");
        return 0;
    }
}
