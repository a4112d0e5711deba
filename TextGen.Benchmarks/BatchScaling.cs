using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using TextGen.Benchmarks.Models;
using TextGen.Benchmarks.Report;
using TextGen.Runtime.Format;
using TextGen.Runtime.Generation;
using TextGen.Runtime.Model;
using TextGen.Runtime.Sampling;

namespace TextGen.Benchmarks;

/// <summary>
/// Issue #5 §4: aggregate generation throughput of a <see cref="GeneratorBatch"/> of 1 to N sessions over one model
/// on one thread, each session with its own seed and temperature-0.8 sampling, as a crowd of NPCs would run. Session
/// counts are interleaved round by round so that outside load hits each alike. Prints one JSON line per session
/// count, <c>{"sessions":…,"dtype":…,"chars_per_sec":…,"per_session_chars_per_sec":…,"speedup":…,"alloc_bytes_per_char":…}</c>
/// (median round; speedup against one session, with <c>speedup_min</c> and <c>speedup_max</c>, the lowest and highest
/// of each round's own ratio to the one-session run of that round, which show how much the host moved the batch; also
/// <c>chars_per_cpu_sec</c> and <c>cpu_speedup</c>, the same per
/// second of the process's CPU time, which stay meaningful when other load takes most of the core, to within the
/// 10 ms tick of the kernel's CPU accounting; with <c>--prime-chars N</c> also <c>prime_chars_per_sec</c> and
/// <c>prime_speedup</c>, the cue characters per second that <see cref="GeneratorBatch.Prime"/> feeds, a cue of N
/// characters per session, median round), then a <c>{"bound":…}</c> line with the arithmetic of the two
/// ceilings: one session streams the weights from memory per char, a batch is limited by this core's multiply-adds,
/// both as the nominal arithmetic (clock × units × lanes) and as measured (<see cref="MultiplyAddPeak"/>, the
/// <c>measured_*</c> keys; the core may run above the clock Linux reports). A q8 model's bound is its integer
/// arithmetic (<see cref="MultiplyAddPeak.MeasureInt8"/>), which <c>peak_arithmetic</c> then names.
/// </summary>
internal static class BatchScaling
{
    // Nominally two FMA units per core, each as wide as MultiplyAddPeak's chains. Some AVX-512 cores (Zen 4, some Xeon
    // Silver) issue one 512-bit multiply-add per cycle; the measured peak shows that where the nominal one cannot. For
    // q8, the same two units (MultiplyAddPeak.Int8NominalLanes).
    private const int FmaUnits = 2;

    /// <summary>The <c>batch-scaling</c> command.</summary>
    public static Command Command()
    {
        var model = new Option<string>("--model") { Description = "Weight file (*.tgm)" };
        var hidden = BenchmarkOptions.RandomModelHidden();
        var sessions = new Option<string>("--sessions") { Description = "Session counts to measure, comma-separated (1 is always measured: the speedup's base)", DefaultValueFactory = _ => "1,2,4,8,16,32" };
        var chars = new Option<int>("--chars") { Description = "Characters per session per round", DefaultValueFactory = _ => 2_000 };
        var rounds = new Option<int>("--rounds") { DefaultValueFactory = _ => 3 };
        var dtype = new Option<string>("--dtype") { Description = "Run the model's matrices as f32, f16 or q8 (converted in memory); default: the file's own" };
        var primeChars = new Option<int>("--prime-chars") { Description = "Also time GeneratorBatch.Prime with a cue of this many characters per session (0: not measured)", DefaultValueFactory = _ => 0 };
        primeChars.Validators.Add(result =>
        {
            if (result.TryGetValue(out int value) && (value < 0 || value > BenchmarkOptions.MaxChars)) result.AddError($"--prime-chars must be 0 to {BenchmarkOptions.MaxChars} (got {value})");
        });
        dtype.OneDTypeName();
        sessions.Validators.Add(result =>
        {
            if (result.TryGetValue(out string? list) && ParseSessions(list) is null) result.AddError($"--sessions must be whole numbers from 1 to {BenchmarkOptions.MaxThreads} separated by commas (got \"{list}\")");
        });
        chars.AtLeastOne(BenchmarkOptions.MaxChars);
        rounds.AtLeastOne(BenchmarkOptions.MaxRounds);
        var command = new Command("batch-scaling", "Aggregate chars/s of 1..N generators stepped together by a GeneratorBatch on one thread, and the compute bound") { model, hidden, sessions, chars, rounds, dtype, primeChars };
        BenchmarkOptions.RequireModelOrHidden(command, model, hidden);
        command.SetAction(parse =>
        {
            ModelFile file;
            string name;
            if (parse.GetValue(model) is string path)
            {
                if (!BenchmarkOptions.TryReadModel(path, parse.InvocationConfiguration.Error, out file)) return 1;
                name = path;
            }
            else
            {
                int units = parse.GetValue(hidden)!.Value;
                file = RandomModels.ComparisonLstm(units);
                name = $"random lstm 2x{units}";
            }
            if (parse.GetValue(dtype) is string dtypeName) file = file.ConvertTo(BenchmarkOptions.ParseDType(dtypeName));
            Measure(parse.InvocationConfiguration.Output, file, name, ParseSessions(parse.GetRequiredValue(sessions))!, parse.GetValue(chars), parse.GetValue(rounds), parse.GetValue(primeChars));
            return 0;
        });
        return command;
    }

    /// <summary>The counts in <paramref name="list"/> with 1 added, ascending; null when it is not a list of positive integers.</summary>
    private static int[]? ParseSessions(string? list)
    {
        if (string.IsNullOrWhiteSpace(list)) return null;
        var counts = new SortedSet<int> { 1 };
        foreach (string item in list.Split(','))
        {
            if (!int.TryParse(item.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int count) || count < 1 || count > BenchmarkOptions.MaxThreads) return null;
            counts.Add(count);
        }
        return counts.ToArray();
    }

    private static void Measure(TextWriter output, ModelFile file, string name, int[] sessionCounts, int chars, int rounds, int primeChars)
    {
        string dtype = BenchmarkOptions.DTypeNameOf(file);
        var model = TextModel.FromFile(file);
        var rates = sessionCounts.ToDictionary(n => n, _ => new List<double>());
        var cpuRates = sessionCounts.ToDictionary(n => n, _ => new List<double>());
        var perCount = sessionCounts.ToDictionary(n => n, _ => (Allocated: 0L, Chars: 0L));
        var primeRates = sessionCounts.ToDictionary(n => n, _ => new List<double>());
        // JIT, type loading and caches, for every count measured: each takes its own code (one session steps through the
        // single-session kernels, larger batches through the batched tiles), so warming only the largest left the
        // one-session path's first-time work in its first timed round.
        foreach (int n in sessionCounts)
        {
            Round(model, n, Math.Min(chars, 200));
            if (primeChars > 0) PrimeRound(model, n, Math.Min(primeChars, 200));
        }
        for (int round = 0; round < rounds; round++)
        {
            foreach (int n in sessionCounts)
            {
                var (charsPerSecond, charsPerCpuSecond, bytes, count) = Round(model, n, chars);
                rates[n].Add(charsPerSecond);
                cpuRates[n].Add(charsPerCpuSecond);
                perCount[n] = (perCount[n].Allocated + bytes, perCount[n].Chars + count);
                if (primeChars > 0) primeRates[n].Add(PrimeRound(model, n, primeChars));
            }
        }

        ModelArchitecture a = file.Architecture;
        output.WriteLine($"model {name}: {a.Cell} {a.Layers}x{a.HiddenSize} {dtype}, {chars} chars per session x {rounds} rounds, one thread");
        double single = Statistic.Median(rates[1]), singleCpu = Statistic.Median(cpuRates[1]);
        double best = 0;
        foreach (int n in sessionCounts)
        {
            double median = Statistic.Median(rates[n]);
            best = Math.Max(best, median);
            // Round r's ratio pairs the two runs made back to back, so a slow phase of the host shows as a low ratio.
            double[] roundSpeedups = rates[n].Zip(rates[1], (batch, one) => batch / one).ToArray();
            var line = new JsonObject
            {
                ["sessions"] = n,
                ["dtype"] = dtype,
                ["chars_per_sec"] = Math.Round(median),
                ["per_session_chars_per_sec"] = Math.Round(median / n),
                ["speedup"] = Math.Round(median / single, 3),
                ["speedup_min"] = Math.Round(roundSpeedups.Min(), 3),
                ["speedup_max"] = Math.Round(roundSpeedups.Max(), 3),
                ["alloc_bytes_per_char"] = Math.Round((double)perCount[n].Allocated / perCount[n].Chars, 3),
                ["chars_per_cpu_sec"] = Math.Round(Statistic.Median(cpuRates[n])),
                ["cpu_speedup"] = Math.Round(Statistic.Median(cpuRates[n]) / singleCpu, 3),
            };
            if (primeChars > 0)
            {
                line["prime_chars_per_sec"] = Math.Round(Statistic.Median(primeRates[n]));
                line["prime_speedup"] = Math.Round(Statistic.Median(primeRates[n]) / Statistic.Median(primeRates[1]), 3);
            }
            output.WriteLine(line.ToJsonString());
        }

        long macs = WeightTraffic.MultiplyAddsPerChar(model.Architecture);
        // Without a reported clock the arithmetic is shown for this project's measuring machine's 2.45 GHz, and says so.
        double? reported = ClockGhz();
        double ghz = reported ?? 2.45;
        // q8 sums bytes in integers: its batch is bound by those instructions, not by float multiply-adds.
        bool integer = file.MatrixDType == TensorDType.Q8;
        int lanes = integer ? MultiplyAddPeak.Int8NominalLanes : MultiplyAddPeak.Lanes;
        double peakMacs = ghz * 1e9 * FmaUnits * lanes;
        long weightBytes = WeightTraffic.WeightBytesPerChar(model.Weights);
        double bandwidth = new ReadBandwidth(weightBytes).MeasureBytesPerSecond(0.2);
        double measuredMacs = integer ? MultiplyAddPeak.MeasureInt8(0.2) : MultiplyAddPeak.Measure(0.2);
        double computeBound = peakMacs / macs, measuredBound = measuredMacs / macs, memoryBound = bandwidth / weightBytes;
        output.WriteLine(new JsonObject
        {
            ["bound"] = new JsonObject
            {
                ["multiply_adds_per_char"] = macs,
                ["clock_ghz"] = Math.Round(ghz, 3),
                ["peak_gmacs"] = Math.Round(peakMacs / 1e9, 2),
                ["peak_arithmetic"] = $"{ghz:F2} GHz{(reported is null ? " (assumed: no clock reported)" : "")} x {FmaUnits} {(integer ? $"multiply units x {lanes} int8 multiply-adds" : $"FMA units x {lanes} float lanes")}",
                ["compute_bound_chars_per_sec"] = Math.Round(computeBound),
                ["weight_bytes_per_char"] = weightBytes,
                ["read_bandwidth_gb_per_s"] = Math.Round(bandwidth / 1e9, 2),
                ["one_session_memory_bound_chars_per_sec"] = Math.Round(memoryBound),
                ["largest_possible_speedup"] = Math.Round(computeBound / Math.Min(memoryBound, computeBound), 2),
                ["best_measured_chars_per_sec"] = Math.Round(best),
                ["best_fraction_of_compute_bound"] = Math.Round(best / computeBound, 3),
                ["measured_peak_gmacs"] = Math.Round(measuredMacs / 1e9, 2),
                ["measured_compute_bound_chars_per_sec"] = Math.Round(measuredBound),
                // Over the single session as measured in this run, the base of every "speedup" above.
                ["measured_largest_possible_speedup"] = Math.Round(measuredBound / single, 2),
                ["best_fraction_of_measured_compute_bound"] = Math.Round(best / measuredBound, 3),
            },
        }.ToJsonString());
    }

    // `count` sessions over one model, each primed with a space, stepped together for `chars` calls; returns the
    // aggregate chars/s, chars per second of this process's CPU time (what the run got of a core shared with other
    // load), the bytes allocated on this thread while timed, and the chars produced.
    private static (double CharsPerSecond, double CharsPerCpuSecond, long Allocated, long Chars) Round(TextModel model, int count, int chars)
    {
        var generators = Enumerable.Range(0, count).Select(i =>
        {
            var generator = model.CreateGenerator(new GeneratorOptions { Seed = (ulong)i + 1, Sampling = new SamplingOptions { Temperature = 0.8 } });
            if (model.TryGetTokenId(' ', out _)) generator.Prime(" ");
            return generator;
        }).ToArray();
        var batch = new GeneratorBatch(model, generators);
        var results = new int[count];
        long produced = 0;
        using var process = Process.GetCurrentProcess();
        TimeSpan cpuBefore = process.TotalProcessorTime;
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        long begin = Stopwatch.GetTimestamp();
        for (int call = 0; call < chars; call++) produced += batch.NextChars(results);
        double seconds = Stopwatch.GetElapsedTime(begin).TotalSeconds;
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        process.Refresh();
        double cpuSeconds = (process.TotalProcessorTime - cpuBefore).TotalSeconds;
        return (produced / seconds, produced / Math.Max(cpuSeconds, 1e-6), allocated, produced);
    }

    // `count` sessions over one model, each primed together by GeneratorBatch.Prime with its own cue of `chars`
    // characters of the vocabulary (drawn with a fixed seed); returns the cue characters fed per second.
    private static double PrimeRound(TextModel model, int count, int chars)
    {
        var generators = Enumerable.Range(0, count).Select(i => model.CreateGenerator(new GeneratorOptions { Seed = (ulong)i + 1 })).ToArray();
        var batch = new GeneratorBatch(model, generators);
        IReadOnlyList<int> vocabulary = model.Architecture.Vocabulary;
        var random = new Random(count);
        string[] cues = Enumerable.Range(0, count)
            .Select(_ => string.Concat(Enumerable.Range(0, chars).Select(_ => char.ConvertFromUtf32(vocabulary[random.Next(vocabulary.Count)]))))
            .ToArray();
        long begin = Stopwatch.GetTimestamp();
        batch.Prime(cues);
        return (double)count * chars / Stopwatch.GetElapsedTime(begin).TotalSeconds;
    }

    /// <summary>The core clock Linux reports (<c>cpu MHz</c>); null where none is reported.</summary>
    private static double? ClockGhz()
        => double.TryParse(MachineDescription.CpuInfoField("cpu MHz"), NumberStyles.Float, CultureInfo.InvariantCulture, out double mhz) && mhz > 0 ? mhz / 1000 : null;
}
