using System.CommandLine;
using System.Diagnostics;
using System.Runtime;
using System.Text.Json.Nodes;
using TextGen.Runtime.Format;
using TextGen.Runtime.Model;

namespace TextGen.Benchmarks;

/// <summary>
/// Issue #5's load target: how long <c>TextModel.Load</c> takes from a weight file's bytes in memory to a model ready
/// to generate, and where that time goes. The first load in the process is the cold one (it pays JIT and the first use
/// of the cryptography library, as a game's first model does); then <c>--rounds</c> warm loads. Prints one JSON line
/// per load phase (as the load path itself records them), then a <c>total</c> line; times are the cold load's and the
/// median and fastest warm load's, in milliseconds; each line adds the same figures for <c>TextModel.Load(path)</c>
/// (<c>warm_median_from_file_ms</c>, <c>warm_min_from_file_ms</c>), which reads the file as it parses it. The total
/// line also gives the GC pauses and (on Linux) the median minor page faults per load: first touches of memory the
/// GC handed back to the system, which decide much of a warm load's time on a virtual machine, and what one such fault
/// costs here: <c>fresh_memory_touch_median_ms</c> writes one byte to each page of a new mapping of the file's size
/// (<see cref="FreshMemory"/>), <c>page_fault_median_us</c> divides it by the pages. The helper thread's hashing overlaps the other phases, so it is
/// left out of <c>unaccounted</c> (the call's time outside the loading thread's phases).
/// </summary>
internal static class LoadTime
{
    /// <summary>The <c>load-time</c> command.</summary>
    public static Command Command()
    {
        var model = new Option<string>("--model") { Description = "Weight file (*.tgm)", Required = true };
        var rounds = new Option<int>("--rounds") { Description = "Warm loads after the cold one", DefaultValueFactory = _ => 30 };
        var dtype = new Option<string>("--dtype") { Description = "Convert the matrices to f32, f16 or q8 in memory first (the conversion reads the file, so no cold load is measured)" };
        dtype.OneDTypeName();
        var oneThread = new Option<bool>("--one-thread") { Description = "Load with ModelLoadOptions.UseHelperThread = false: hash the weights on the loading thread too" };
        rounds.AtLeastOne(BenchmarkOptions.MaxRounds);
        var command = new Command("load-time", "Milliseconds of TextModel.Load from bytes in memory, cold and warm, phase by phase") { model, rounds, dtype, oneThread };
        command.SetAction(parse => Measure(parse.InvocationConfiguration, parse.GetRequiredValue(model), parse.GetValue(dtype), parse.GetValue(rounds), new ModelLoadOptions { UseHelperThread = !parse.GetValue(oneThread) }));
        return command;
    }

    private static int Measure(InvocationConfiguration console, string path, string? dtypeName, int rounds, ModelLoadOptions options)
    {
        ReadOnlyMemory<byte> bytes;
        try
        {
            // The Runtime's own read: a directory, a pipe, a device or an oversized file is refused by name, as Load(path) refuses it.
            bytes = ModelFileStorage.ReadFile(path, ModelFile.MaxFileBytes);
        }
        catch (ModelFormatException e)
        {
            console.Error.WriteLine(e.Message);
            return 1;
        }

        Sample? cold = null;
        try
        {
            if (dtypeName is null) cold = Load(profile => TextModel.Load(bytes, path, ownsBuffer: false, options, profile));
            else bytes = ModelFile.Read(bytes, path).ConvertTo(BenchmarkOptions.ParseDType(dtypeName)).ToBytes();
        }
        catch (ModelFormatException e)
        {
            console.Error.WriteLine(e.Message);
            return 1;
        }
        var warm = new List<Sample>();
        for (int round = 0; round < rounds; round++) warm.Add(Load(profile => TextModel.Load(bytes, path, ownsBuffer: false, options, profile)));
        // What a game calls: TextModel.Load(path), the file's read (from the OS cache) included. Not for a converted model, which has no file.
        List<Sample>? fromFile = dtypeName is null ? Enumerable.Range(0, rounds).Select(_ => Load(profile => TextModel.Load(path, options, profile))).ToList() : null;

        // Every phase any load recorded, in the order first seen; "unaccounted" comes last in each sample.
        IEnumerable<string> phases = (cold ?? warm[0]).Phases.Keys.Concat(warm.SelectMany(s => s.Phases.Keys)).Distinct();
        foreach (string phase in phases.Where(p => p != "unaccounted").Append("unaccounted"))
        {
            console.Output.WriteLine(Line(phase, cold, warm, fromFile, s => s.Phases.TryGetValue(phase, out double ms) ? ms : null).ToJsonString());
        }
        var total = Line("total", cold, warm, fromFile, s => s.TotalMilliseconds);
        total["cold_jit_methods"] = cold?.JitMethods;
        total["cold_jit_ms"] = cold is null ? null : Math.Round(cold.JitMilliseconds, 3);
        total["model"] = path;
        total["dtype"] = dtypeName ?? BenchmarkOptions.DTypeNameOf(ModelFile.Read(bytes, path));
        total["file_bytes"] = bytes.Length;
        total["rounds"] = rounds;
        total["helper_thread"] = options.UseHelperThread;
        total["warm_median_alloc_bytes"] = Statistic.Median(warm.Select(s => (double)s.AllocatedBytes));
        total["warm_gcs"] = warm.Sum(s => s.Collections);
        total["warm_median_minor_faults"] = warm.All(s => s.MinorFaults is not null) ? Statistic.Median(warm.Select(s => (double)s.MinorFaults!.Value)) : null;
        total["warm_median_minor_faults_from_file"] = fromFile?.All(s => s.MinorFaults is not null) == true ? Statistic.Median(fromFile.Select(s => (double)s.MinorFaults!.Value)) : null;
        total["warm_gc_pause_ms"] = Math.Round(warm.Sum(s => s.GcPauseMilliseconds), 3);
        total["warm_gcs_from_file"] = fromFile?.Sum(s => s.Collections);
        total["warm_gc_pause_from_file_ms"] = fromFile is null ? null : Math.Round(fromFile.Sum(s => s.GcPauseMilliseconds), 3);
        double? touch = FreshMemory.MedianTouchMilliseconds(bytes.Length, rounds);
        total["fresh_memory_touch_median_ms"] = touch is null ? null : Math.Round(touch.Value, 3);
        total["page_fault_median_us"] = touch is null ? null : Math.Round(touch.Value * 1000 / Math.Ceiling((double)bytes.Length / Environment.SystemPageSize), 3);
        console.Output.WriteLine(total.ToJsonString());
        return 0;
    }

    // One load: its phases as the load path recorded them, the whole call, what every thread allocated, how many
    // garbage collections ran (and how long they paused the threads) and how many methods the JIT compiled (and how long it took) during it. "unaccounted"
    // is the call's time outside the loading thread's phases. A phase that did not happen (the helper thread's
    // hashing when no pool thread started in time) is missing from that load's phases.
    private sealed record Sample(Dictionary<string, double> Phases, double TotalMilliseconds, long AllocatedBytes, int Collections, double GcPauseMilliseconds, long? MinorFaults, long JitMethods, double JitMilliseconds);

    private static Sample Load(Action<LoadProfile> load)
    {
        var profile = new LoadProfile();
        long jitMethods = JitInfo.GetCompiledMethodCount();
        TimeSpan jitTime = JitInfo.GetCompilationTime();
        int collections = GC.CollectionCount(0);
        TimeSpan paused = GC.GetTotalPauseDuration();
        long? faults = MinorFaults();
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        long begin = Stopwatch.GetTimestamp();
        load(profile);
        double total = Stopwatch.GetElapsedTime(begin).TotalMilliseconds;
        allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        var phases = profile.Phases.ToDictionary(p => p.Phase, p => p.Milliseconds);
        phases["unaccounted"] = total - phases.Where(p => p.Key != TensorDigest.HelperPhase).Sum(p => p.Value);
        return new Sample(phases, total, allocated, GC.CollectionCount(0) - collections, (GC.GetTotalPauseDuration() - paused).TotalMilliseconds, MinorFaults() - faults,
            JitInfo.GetCompiledMethodCount() - jitMethods, (JitInfo.GetCompilationTime() - jitTime).TotalMilliseconds);
    }

    // A phase's times over the loads that had it; warm_loads says how many of the warm loads from bytes did.
    private static JsonObject Line(string phase, Sample? cold, List<Sample> warm, List<Sample>? fromFile, Func<Sample, double?> milliseconds)
    {
        var times = warm.Select(milliseconds).OfType<double>().ToList();
        var fileTimes = fromFile?.Select(milliseconds).OfType<double>().ToList() ?? new List<double>();
        return new JsonObject
        {
            ["phase"] = phase,
            ["cold_ms"] = cold is not null && milliseconds(cold) is double coldMilliseconds ? Math.Round(coldMilliseconds, 3) : null,
            ["warm_median_ms"] = times.Count > 0 ? Math.Round(Statistic.Median(times), 3) : null,
            ["warm_min_ms"] = times.Count > 0 ? Math.Round(times.Min(), 3) : null,
            ["warm_loads"] = times.Count,
            ["warm_median_from_file_ms"] = fileTimes.Count > 0 ? Math.Round(Statistic.Median(fileTimes), 3) : null,
            ["warm_min_from_file_ms"] = fileTimes.Count > 0 ? Math.Round(fileTimes.Min(), 3) : null,
        };
    }

    // Page faults that needed no disk read, from /proc/self/stat (Linux): first touches of fresh memory, mostly.
    private static long? MinorFaults()
    {
        if (!OperatingSystem.IsLinux()) return null;
        string stat = File.ReadAllText("/proc/self/stat");
        // Fields after the command name, which is in parentheses and may hold spaces; minflt is the 10th field overall.
        string[] fields = stat.Substring(stat.LastIndexOf(')') + 2).Split(' ');
        return long.Parse(fields[7], System.Globalization.CultureInfo.InvariantCulture);
    }
}
