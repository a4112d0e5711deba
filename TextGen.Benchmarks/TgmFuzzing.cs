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
/// refused with <see cref="ModelFormatException"/> or load and generate, and the reader's two ways in must agree on
/// it: from bytes in memory, and from a seekable stream, which a game's <c>Load(path)</c> takes and which parses as
/// it reads (<c>StreamedFileBytes</c>). Any other exception, or a disagreement, escapes and is the crash the fuzzer
/// reports. Under AFL++ (and when run by hand) the input comes on standard input; with <c>--libfuzzer</c> it comes
/// from libfuzzer-dotnet.
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

    /// <summary>The property under test: both loads refuse the input with the same message, or load models that write the same text.</summary>
    private static void LoadAndGenerate(byte[] input)
    {
        const string source = "fuzz-input.tgm";
        string fromBytes = Judge(() => TextModel.Load(input, source));
        string streamed = Judge(() => TextModel.Load(new MemoryStream(input, writable: false), source));
        if (streamed != fromBytes) throw new InvalidOperationException($"the loads disagree: from bytes «{fromBytes}», streamed «{streamed}»");
    }

    /// <summary>
    /// What a load makes of a file: <c>refused: </c> and the <see cref="ModelFormatException"/>'s message, or
    /// <c>text: </c> and the first 20 chars the model writes with a fixed seed. Any other exception escapes.
    /// </summary>
    internal static string Judge(Func<TextModel> load)
    {
        TextModel model;
        try
        {
            model = load();
        }
        catch (ModelFormatException e)
        {
            return "refused: " + e.Message;
        }
        // Top-k takes the sampler's sorting path, where overflowed logits once crashed it.
        var generator = model.CreateGenerator(new GeneratorOptions { Seed = 11, Sampling = new SamplingOptions { Temperature = 0.8, TopK = 3 } });
        string text = generator.GenerateString(20);
        if (text.Length < 19) throw new InvalidOperationException($"a loaded model generated {text.Length} chars of 20");
        return "text: " + text;
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
                model.WriteFile(Path.Combine(directory, $"{ModelFileSchema.CellName(cell)}-{(embedding == 0 ? "onehot" : "embedding")}.tgm"));
                written++;
            }
        }
        Console.WriteLine($"{written} seed files in {directory}");
        return 0;
    }
}
