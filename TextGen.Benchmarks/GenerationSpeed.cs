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
/// ratio per dtype. <c>--dtypes f32,f16,q8</c> converts the model's matrices in memory and interleaves every dtype and
/// mode round by round, so one f32 file measures every dtype under the same load.
/// </summary>
internal static class GenerationSpeed
{
    /// <summary>The <c>generation-speed</c> command.</summary>
    public static Command Command()
    {
        var model = new Option<string>("--model") { Description = "Weight file", Required = true };
        var chars = new Option<int>("--chars") { Description = "Characters per round", DefaultValueFactory = _ => 20_000 };
        var rounds = new Option<int>("--rounds") { DefaultValueFactory = _ => 5 };
        var dtype = new Option<string>("--dtypes") { Description = "Comma-separated dtypes (f32, f16, q8) to run the model's matrices in, converted in memory and interleaved round by round; default: the file's own" };
        dtype.Validators.Add(result =>
        {
            if (result.TryGetValue(out string? list) && list is not null
                && list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) is var names
                && (names.Length == 0 || names.Any(n => !BenchmarkOptions.IsDTypeName(n)) || names.Distinct().Count() != names.Length))
            {
                result.AddError($"--dtypes must list f32, f16 or q8, each once (got \"{list}\")");
            }
        });
        chars.AtLeastOne(BenchmarkOptions.MaxChars);
        rounds.AtLeastOne(BenchmarkOptions.MaxRounds);
        var command = new Command("generation-speed", "Runtime chars/s, fast against strict mode") { model, chars, rounds, dtype };
        command.SetAction(parse => Measure(parse.InvocationConfiguration, parse.GetRequiredValue(model), parse.GetValue(dtype), parse.GetValue(chars), parse.GetValue(rounds)));
        return command;
    }

    private static int Measure(InvocationConfiguration console, string modelPath, string? dtypeList, int chars, int rounds)
    {
        TextWriter output = console.Output;
        if (!BenchmarkOptions.TryReadModel(modelPath, console.Error, out ModelFile file)) return 1;
        string[] dtypes = dtypeList?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            ?? new[] { BenchmarkOptions.DTypeNameOf(file) };
        var models = dtypes.ToDictionary(d => d, d => TextModel.FromFile(file.ConvertTo(BenchmarkOptions.ParseDType(d))));
        var modes = dtypes.SelectMany(d => new[] { (Name: "fast", DType: d, Strict: false), (Name: "strict", DType: d, Strict: true) }).ToArray();
        var rates = modes.ToDictionary(m => m, _ => new List<double>());
        var allocations = modes.ToDictionary(m => m, _ => 0L);
        var buffer = new char[256];
        foreach (var mode in modes) Run(models[mode.DType], mode.Strict, 2_000, buffer); // JIT and caches
        for (int round = 0; round < rounds; round++)
        {
            foreach (var mode in modes)
            {
                var (seconds, allocated) = Run(models[mode.DType], mode.Strict, chars, buffer);
                allocations[mode] += allocated;
                rates[mode].Add(chars / seconds);
            }
        }
        var a = file.Architecture;
        output.WriteLine($"model {modelPath}: {a.Cell} {a.Layers}x{a.HiddenSize}, {chars} chars x {rounds} rounds, single thread");
        foreach (var mode in modes)
        {
            double median = Statistic.Median(rates[mode]);
            double allocPerChar = (double)allocations[mode] / ((long)chars * rounds);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{{\"mode\":\"{mode.Name}\",\"dtype\":\"{mode.DType}\",\"chars_per_sec\":{median:F0},\"us_per_char\":{1e6 / median:F2},\"alloc_bytes_per_char\":{allocPerChar:F3}}}"));
        }
        foreach (string dtype in dtypes)
        {
            double ratio = Statistic.Median(rates[("strict", dtype, true)]) / Statistic.Median(rates[("fast", dtype, false)]);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{dtype} strict/fast speed: {ratio:F3}"));
        }
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
