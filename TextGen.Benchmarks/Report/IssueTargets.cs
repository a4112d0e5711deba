using System.Text.Json.Nodes;

namespace TextGen.Benchmarks.Report;

/// <summary>Whether a measured figure reaches its target.</summary>
internal enum TargetStatus
{
    /// <summary>Reached on every model it applies to.</summary>
    Met,

    /// <summary>Missed on at least one model.</summary>
    NotMet,

    /// <summary>Not measured in this report (no corpus given, one CPU, no such model).</summary>
    NotMeasured,
}

/// <summary>One target of issue #5 against this report's measurements.</summary>
/// <param name="Target">The target, as the issue states it.</param>
/// <param name="Measured">What was measured, per model where it applies to several.</param>
/// <param name="Status">Whether it is met.</param>
internal sealed record TargetCheck(string Target, string Measured, TargetStatus Status);

/// <summary>
/// Issue #5's targets checked against the steps' JSON lines. The speed ratios are each engine's
/// <c>onnxruntime_ratio</c> (the median over rounds of its chars/s over ONNX Runtime's in the same round) and the
/// roofline fraction is <c>runtime_f32_median_round_fraction_of_bound</c>, formed the same way.
/// </summary>
internal static class IssueTargets
{
    public const double F32Ratio = 1.0, SmallF32Ratio = 2.0, F16Ratio = 1.6, Q8Ratio = 3.0, RooflineFraction = 0.90;
    public const double Q8LossMargin = 0.01, Q8SizeFraction = 0.30, LoadMilliseconds = 10, BatchSpeedup = 8, ThreadScaling = 1.7;

    /// <summary>Every target, in the issue's order.</summary>
    /// <param name="results">The report's steps and what they printed.</param>
    /// <param name="f32Bytes">The weight file's size as f32.</param>
    /// <param name="q8Bytes">Its size as q8.</param>
    public static IReadOnlyList<TargetCheck> Check(IReadOnlyList<StepResult> results, long f32Bytes, long q8Bytes)
    {
        var compares = results.Where(r => r.Step.Kind == StepKind.Compare).ToList();
        var large = compares.Where(r => r.Step.RandomHidden is null or > ReportPlan.SmallHidden).ToList();
        var small = compares.Where(r => r.Step.RandomHidden is <= ReportPlan.SmallHidden).ToList();
        return
        [
            AtLeast(FormattableString.Invariant($"Runtime f32 ≥ {F32Ratio:0.0#}× ONNX Runtime (shipped and larger random models)"), large, r => RuntimeRatio(r, "f32"), F32Ratio, "×"),
            AtLeast(FormattableString.Invariant($"Runtime f32 ≥ {RooflineFraction * 100:0}% of the read-bandwidth roofline (same models)"), large, RooflineOf, RooflineFraction, ""),
            AtLeast(FormattableString.Invariant($"Runtime f32 ≥ {SmallF32Ratio:0.0#}× ONNX Runtime at hidden ≤ {ReportPlan.SmallHidden} (weights in L2)"), small, r => RuntimeRatio(r, "f32"), SmallF32Ratio, "×"),
            AtLeast(FormattableString.Invariant($"Runtime f16 ≥ {F16Ratio:0.0#}× ONNX Runtime f32 (every model)"), compares, r => RuntimeRatio(r, "f16"), F16Ratio, "×"),
            AtLeast(FormattableString.Invariant($"Runtime q8 ≥ {Q8Ratio:0.0#}× ONNX Runtime f32 (every model)"), compares, r => RuntimeRatio(r, "q8"), Q8Ratio, "×"),
            Q8Loss(results),
            Judge(FormattableString.Invariant($"q8 file ≤ {Q8SizeFraction * 100:0}% of the f32 file"), FormattableString.Invariant($"{100.0 * q8Bytes / f32Bytes:0.0}% ({q8Bytes:N0} of {f32Bytes:N0} bytes)"), q8Bytes <= Q8SizeFraction * f32Bytes),
            NoAllocation(results),
            Load(results),
            Batch(results),
            Threads(results),
        ];
    }

    private static double? RuntimeRatio(StepResult compare, string dtype)
        => (double?)compare.EngineLine("runtime", dtype)?["onnxruntime_ratio"];

    private static double? RooflineOf(StepResult compare)
        => (double?)compare.Wrapped("roofline")?["runtime_f32_median_round_fraction_of_bound"];

    // A figure per model, each against the same floor; met when every model's is at or above it.
    private static TargetCheck AtLeast(string target, IReadOnlyList<StepResult> compares, Func<StepResult, double?> figure, double floor, string unit)
    {
        var values = compares.Select(r => (r.Step.Label, Value: figure(r))).Where(v => v.Value is not null).ToList();
        if (values.Count == 0) return new TargetCheck(target, "no such model measured", TargetStatus.NotMeasured);
        string measured = string.Join("; ", values.Select(v => $"{v.Label} {Shown(v.Value!.Value, 2, x => Reaches(x, floor))}{unit}"));
        return Judge(target, measured, values.All(v => Reaches(v.Value!.Value, floor)));
    }

    private static TargetCheck Q8Loss(IReadOnlyList<StepResult> results)
    {
        string target = FormattableString.Invariant($"q8 validation loss ≤ f32's + {Q8LossMargin} nats");
        var losses = results.Where(r => r.Step.Kind == StepKind.Evaluation).SelectMany(r => r.Objects)
            .Where(o => o.ContainsKey("loss_nats")).ToDictionary(o => (string)o["dtype"]!, o => (double)o["loss_nats"]!);
        if (!losses.TryGetValue("f32", out double f32) || !losses.TryGetValue("q8", out double q8)) return new TargetCheck(target, "not measured: no --corpus", TargetStatus.NotMeasured);
        return Judge(target, FormattableString.Invariant($"f32 {f32:0.0000}, q8 {q8:0.0000} (+{q8 - f32:0.0000})"), q8 - f32 <= Q8LossMargin);
    }

    // Every Runtime line of the speed steps: compare's runtime engines, the batches and both generation modes.
    private static TargetCheck NoAllocation(IReadOnlyList<StepResult> results)
    {
        var runtimeLines = results.SelectMany(r => r.Step.Kind switch
        {
            StepKind.Compare => r.Objects.Where(o => (string?)o["engine"] == "runtime"),
            StepKind.BatchScaling or StepKind.GenerationSpeed => r.Objects.Where(o => o.ContainsKey("alloc_bytes_per_char")),
            _ => [],
        }).Select(o => (double)o["alloc_bytes_per_char"]!).ToList();
        if (runtimeLines.Count == 0) return new TargetCheck("0 bytes allocated per character", "not measured", TargetStatus.NotMeasured);
        double most = runtimeLines.Max();
        return Judge("0 bytes allocated per character", FormattableString.Invariant($"at most {most:0.###} B/char over {runtimeLines.Count} Runtime measurements"), most == 0);
    }

    private static TargetCheck Load(IReadOnlyList<StepResult> results)
    {
        string target = FormattableString.Invariant($"shipped-model load < {LoadMilliseconds} ms");
        JsonObject? total = results.Where(r => r.Step.Kind == StepKind.LoadTime).SelectMany(r => r.Objects).FirstOrDefault(o => (string?)o["phase"] == "total");
        if (total is null) return new TargetCheck(target, "not measured", TargetStatus.NotMeasured);
        double median = (double)total["warm_median_from_file_ms"]!, fastest = (double)total["warm_min_from_file_ms"]!;
        static bool Under(double ms) => ms < LoadMilliseconds;
        return Judge(target, FormattableString.Invariant($"median {Shown(median, 1, Under)} ms, fastest {Shown(fastest, 1, Under)} ms (`TextModel.Load(path)`, {total["rounds"]} warm loads)"), Under(median));
    }

    private static TargetCheck Batch(IReadOnlyList<StepResult> results)
    {
        string target = FormattableString.Invariant($"{ReportPlan.BatchSessions} batched sessions ≥ {BatchSpeedup}× one session's chars/s");
        // The target is the weight file's own batch; the q8 one is reported beside it.
        StepResult? step = results.FirstOrDefault(r => r.Step.Kind == StepKind.BatchScaling && !r.Step.Arguments.Contains("--dtype"));
        JsonObject? batch = step?.Objects.FirstOrDefault(o => (int?)o["sessions"] == ReportPlan.BatchSessions);
        if (batch is null) return new TargetCheck(target, "not measured", TargetStatus.NotMeasured);
        double speedup = (double)batch["speedup"]!;
        JsonNode? bound = step!.Wrapped("bound");
        string ceiling = bound is null ? "" : FormattableString.Invariant($"; this core's measured multiply-add peak allows at most {(double)bound["measured_largest_possible_speedup"]!:0.0}×");
        string spread = batch["speedup_min"] is { } low && batch["speedup_max"] is { } high ? FormattableString.Invariant($" (rounds {(double)low:0.00}–{(double)high:0.00}×)") : "";
        return Judge(target, $"{Shown(speedup, 2, x => Reaches(x, BatchSpeedup))}×{spread}{ceiling}", Reaches(speedup, BatchSpeedup));
    }

    private static TargetCheck Threads(IReadOnlyList<StepResult> results)
    {
        string target = FormattableString.Invariant($"2 threads ≥ {ThreadScaling}× one thread's chars/s");
        JsonObject? two = results.Where(r => r.Step.Kind == StepKind.ThreadScaling).SelectMany(r => r.Objects).FirstOrDefault(o => (int?)o["threads"] == 2);
        if (two is null) return new TargetCheck(target, "not measured: fewer than 2 logical CPUs", TargetStatus.NotMeasured);
        double scaling = (double)two["scaling"]!;
        return Judge(target, $"{Shown(scaling, 2, x => Reaches(x, ThreadScaling))}×", Reaches(scaling, ThreadScaling));
    }

    // The ratio, roofline, batch and thread targets are floors a figure must reach.
    private static bool Reaches(double figure, double floor) => figure >= floor;

    /// <summary>
    /// <paramref name="value"/> with <paramref name="decimals"/> decimals, or more where that rounding would put it on
    /// the other side of its target (2.997 shown as 3.00 against a floor of 3): the table must not show a miss as a hit.
    /// </summary>
    internal static string Shown(double value, int decimals, Func<double, bool> meets)
    {
        const int MostDecimals = 6;
        while (decimals < MostDecimals && meets(Math.Round(value, decimals, MidpointRounding.AwayFromZero)) != meets(value)) decimals++;
        return value.ToString("0." + new string('0', decimals), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static TargetCheck Judge(string target, string measured, bool met) => new(target, measured, met ? TargetStatus.Met : TargetStatus.NotMet);
}
