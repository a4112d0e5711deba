using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using TextGen.Runtime.Format;
using TextGen.Runtime.Generation;
using TextGen.Runtime.Model;
using TextGen.Runtime.Sampling;

namespace TextGen.Benchmarks;

/// <summary>
/// Single-threaded generation speed of TextGen.Runtime in the default (fast) mode and in strict-determinism mode,
/// interleaved round by round so that load from other processes hits both alike. Prints one JSON line per mode:
/// <c>{"mode":…,"dtype":…,"chars_per_sec":…,"us_per_char":…,"alloc_bytes_per_char":…}</c> (median round), then the
/// ratio. <c>--dtype f16|q8</c> converts the model's matrices in memory first, so one f32 file measures every dtype.
/// </summary>
internal static class GenerationSpeed
{
    /// <summary>The <c>generation-speed</c> command.</summary>
    public static Command Command()
    {
        var model = new Option<string>("--model") { Description = "Weight file", Required = true };
        var chars = new Option<int>("--chars") { Description = "Characters per round", DefaultValueFactory = _ => 20_000 };
        var rounds = new Option<int>("--rounds") { DefaultValueFactory = _ => 5 };
        var dtype = new Option<string>("--dtype") { Description = "Run the model's matrices as f32, f16 or q8 (converted in memory); default: the file's own" };
        dtype.AcceptOnlyFromAmong("f32", "f16", "q8");
        var command = new Command("generation-speed", "Runtime chars/s, fast against strict mode") { model, chars, rounds, dtype };
        command.SetAction(parse => Measure(parse.GetRequiredValue(model), parse.GetValue(dtype), parse.GetValue(chars), parse.GetValue(rounds)));
        return command;
    }

    private static int Measure(string modelPath, string? dtypeName, int chars, int rounds)
    {
        var file = ModelFile.ReadFile(modelPath);
        if (dtypeName is not null) file = file.ConvertTo(Enum.Parse<TensorDType>(dtypeName, ignoreCase: true));
        string dtype = file.Tensors.First(t => t.Shape.Count == 2).DType.ToString().ToLowerInvariant();
        var model = TextModel.FromFile(file);
        var modes = new[] { ("fast", false), ("strict", true) };
        var rates = modes.ToDictionary(m => m.Item1, _ => new List<double>());
        var allocations = modes.ToDictionary(m => m.Item1, _ => 0L);
        var buffer = new char[256];
        foreach (var (_, strict) in modes) Run(model, strict, 2_000, buffer); // JIT and caches
        for (int round = 0; round < rounds; round++)
        {
            foreach (var (name, strict) in modes)
            {
                var (seconds, allocated) = Run(model, strict, chars, buffer);
                allocations[name] += allocated;
                rates[name].Add(chars / seconds);
            }
        }
        Console.WriteLine($"model {modelPath}: {model.Architecture.Cell} {model.Architecture.Layers}x{model.Architecture.HiddenSize}, {chars} chars x {rounds} rounds, single thread");
        foreach (var (name, _) in modes)
        {
            double median = rates[name].OrderBy(r => r).ElementAt(rounds / 2);
            double allocPerChar = (double)allocations[name] / ((long)chars * rounds);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{{\"mode\":\"{name}\",\"dtype\":\"{dtype}\",\"chars_per_sec\":{median:F0},\"us_per_char\":{1e6 / median:F2},\"alloc_bytes_per_char\":{allocPerChar:F3}}}"));
        }
        double ratio = rates["strict"].OrderBy(r => r).ElementAt(rounds / 2) / rates["fast"].OrderBy(r => r).ElementAt(rounds / 2);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"strict/fast speed: {ratio:F3}"));
        return 0;
    }

    // Generates `chars` characters after a fixed prime; creating the generator is outside the timed and counted span.
    private static (double Seconds, long AllocatedBytes) Run(TextModel model, bool strict, int chars, char[] buffer)
    {
        var generator = model.CreateGenerator(new GeneratorOptions
        {
            Seed = 1,
            StrictDeterminism = strict,
            Sampling = new SamplingOptions { Temperature = 0.8 },
        });
        generator.Prime(" ");
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        long start = Stopwatch.GetTimestamp();
        for (int done = 0; done < chars;) done += generator.Generate(buffer.AsSpan(0, Math.Min(buffer.Length, chars - done)));
        return (Stopwatch.GetElapsedTime(start).TotalSeconds, GC.GetAllocatedBytesForCurrentThread() - allocatedBefore);
    }
}
