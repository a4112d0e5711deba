using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using TextGen.Runtime.Format;
using TextGen.Runtime.Generation;
using TextGen.Runtime.Model;
using TextGen.Runtime.Sampling;

namespace TextGen.Benchmarks;

/// <summary>
/// Aggregate generation throughput of independent generators over one shared model on 1 to N threads, each thread
/// with its own generator and seed, all threads starting together and the round timed until the last one ends.
/// Thread counts are interleaved round by round so that outside load hits each alike. Prints one JSON line per
/// thread count, <c>{"threads":…,"dtype":…,"chars_per_sec":…,"scaling":…}</c> (median round; scaling against one
/// thread), for issue 5's target of 1.7× on two threads.
/// </summary>
internal static class ThreadScaling
{
    /// <summary>The <c>thread-scaling</c> command.</summary>
    public static Command Command()
    {
        var model = new Option<string>("--model") { Description = "Weight file", Required = true };
        var chars = new Option<int>("--chars") { Description = "Characters per thread per round", DefaultValueFactory = _ => 10_000 };
        var rounds = new Option<int>("--rounds") { DefaultValueFactory = _ => 5 };
        var threads = new Option<int>("--threads") { Description = "Most threads to measure (1 up to this)", DefaultValueFactory = _ => Environment.ProcessorCount };
        var dtype = new Option<string>("--dtype") { Description = "Run the model's matrices as f32, f16 or q8 (converted in memory); default: the file's own" };
        dtype.OneDTypeName();
        chars.AtLeastOne(BenchmarkOptions.MaxChars);
        rounds.AtLeastOne(BenchmarkOptions.MaxRounds);
        threads.AtLeastOne(BenchmarkOptions.MaxThreads);
        var command = new Command("thread-scaling", "Aggregate chars/s of independent generators on 1..N threads over one shared model") { model, chars, rounds, threads, dtype };
        command.SetAction(parse => Measure(parse.InvocationConfiguration, parse.GetRequiredValue(model), parse.GetValue(dtype), parse.GetValue(chars), parse.GetValue(rounds), parse.GetValue(threads)));
        return command;
    }

    private static int Measure(InvocationConfiguration console, string modelPath, string? dtypeName, int chars, int rounds, int maxThreads)
    {
        TextWriter output = console.Output;
        if (!BenchmarkOptions.TryReadModel(modelPath, console.Error, out ModelFile file)) return 1;
        if (dtypeName is not null) file = file.ConvertTo(BenchmarkOptions.ParseDType(dtypeName));
        string dtype = BenchmarkOptions.DTypeNameOf(file);
        var model = TextModel.FromFile(file);
        var rates = Enumerable.Range(1, maxThreads).ToDictionary(n => n, _ => new List<double>());
        Round(model, 1, 2_000); // JIT and caches
        for (int round = 0; round < rounds; round++)
        {
            foreach (int n in rates.Keys) rates[n].Add(Round(model, n, chars));
        }

        var a = file.Architecture;
        output.WriteLine($"model {modelPath}: {a.Cell} {a.Layers}x{a.HiddenSize} {dtype}, {chars} chars per thread x {rounds} rounds, {Environment.ProcessorCount} logical CPUs");
        double single = Statistic.Median(rates[1]);
        foreach (var (n, values) in rates)
        {
            double median = Statistic.Median(values);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{{\"threads\":{n},\"dtype\":\"{dtype}\",\"chars_per_sec\":{median:F0},\"scaling\":{median / single:F3}}}"));
        }
        return 0;
    }

    // Every thread generates `chars` characters with its own generator; returns the aggregate chars/s of the round,
    // timed from the first thread's start to the last one's end as the threads themselves clock them. (Timed by the
    // thread that released them, a round could come out near zero: with as many workers as cores, that thread may
    // not run again until they are done. A round of a tiny model once measured 285 million chars/s that way.)
    private static double Round(TextModel model, int threadCount, int chars)
    {
        var generators = Enumerable.Range(0, threadCount).Select(i =>
        {
            var generator = model.CreateGenerator(new GeneratorOptions { Seed = (ulong)i + 1, Sampling = new SamplingOptions { Temperature = 0.8 } });
            generator.Prime(" ");
            return generator;
        }).ToArray();
        using var start = new Barrier(threadCount);
        var begins = new long[threadCount];
        var ends = new long[threadCount];
        var workers = Enumerable.Range(0, threadCount).Select(i => new Thread(() =>
        {
            var buffer = new char[256];
            start.SignalAndWait();
            begins[i] = Stopwatch.GetTimestamp();
            for (int done = 0; done < chars;) done += generators[i].Generate(buffer.AsSpan(0, Math.Min(buffer.Length, chars - done)));
            ends[i] = Stopwatch.GetTimestamp();
        })).ToArray();
        foreach (var worker in workers) worker.Start();
        foreach (var worker in workers) worker.Join();
        return (double)threadCount * chars / Stopwatch.GetElapsedTime(begins.Min(), ends.Max()).TotalSeconds;
    }
}
