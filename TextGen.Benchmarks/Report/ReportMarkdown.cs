using System.Text;
using System.Text.Json.Nodes;

namespace TextGen.Benchmarks.Report;

/// <summary>One run of the report: how it was asked for, where it ran, what each step printed, and the targets.</summary>
/// <param name="CommandLine">The report command that produced it.</param>
/// <param name="StartedUtc">When it started.</param>
/// <param name="Duration">How long it took.</param>
/// <param name="Revision">The source it measured: the git commit, or why none is known.</param>
/// <param name="Machine">Where it ran.</param>
/// <param name="LoadAverages">Linux's load averages at the start and at the end; null where there are none.</param>
/// <param name="Results">Every step and what it printed.</param>
/// <param name="Targets">Issue #5's targets against the results.</param>
internal sealed record ReportRun(
    string CommandLine, DateTime StartedUtc, TimeSpan Duration, string Revision, MachineDescription Machine,
    (string Start, string End)? LoadAverages, IReadOnlyList<StepResult> Results, IReadOnlyList<TargetCheck> Targets);

/// <summary>
/// The report as the Markdown section <c>docs/performance.md</c> opens with: the targets table, chars/s per engine and
/// model, the other figures, the machine, and every command, so each figure can be rerun on its own.
/// </summary>
internal static class ReportMarkdown
{
    private static readonly (string Engine, string DType, string Heading)[] Engines =
    [
        ("runtime", "f32", "Runtime f32"), ("runtime", "f16", "Runtime f16"), ("runtime", "q8", "Runtime q8"),
        ("onnxruntime", "f32", "ONNX Runtime f32"), ("torchsharp", "f32", "TorchSharp f32"),
    ];

    /// <summary>The section, from its heading to its last command, without the markers around it.</summary>
    public static string Render(ReportRun run)
    {
        var md = new StringBuilder();
        md.AppendLine("## Current results").AppendLine();
        md.AppendLine(FormattableString.Invariant(
            $"Measured {run.StartedUtc:yyyy-MM-dd HH:mm} UTC in {run.Duration.TotalMinutes:0.0} minutes at {run.Revision} by the command below, which regenerates this section (see \"Regenerating\")."));
        md.AppendLine().AppendLine("```sh").AppendLine(run.CommandLine).AppendLine("```").AppendLine();
        AppendMachine(md, run);
        AppendTargets(md, run.Targets);
        var compares = run.Results.Where(r => r.Step.Kind == StepKind.Compare).ToList();
        if (compares.Count > 0)
        {
            AppendSpeeds(md, compares);
            AppendEngineCosts(md, compares);
        }
        AppendOtherFigures(md, run.Results);
        md.AppendLine("### The commands it ran").AppendLine();
        md.AppendLine("Each runs alone from the repository root and prints the JSON lines the figures above come from.").AppendLine();
        md.AppendLine("```sh");
        foreach (var result in run.Results) md.AppendLine(result.Step.CommandLine);
        md.AppendLine("```");
        return md.ToString();
    }

    private static void AppendMachine(StringBuilder md, ReportRun run)
    {
        MachineDescription m = run.Machine;
        md.AppendLine(FormattableString.Invariant(
            $"**Machine:** {m.Cpu}, {m.LogicalCpus} logical CPUs; vector instructions {m.VectorFeatures}; the Runtime's kernel path {m.KernelPath}; {m.Framework} on {m.OperatingSystem}."));
        if (run.LoadAverages is var (start, end)) md.AppendLine($"Load average (1, 5, 15 min) {start} at the start, {end} at the end.");
        md.AppendLine();
    }

    private static void AppendTargets(StringBuilder md, IReadOnlyList<TargetCheck> targets)
    {
        md.AppendLine("### Issue #5's targets").AppendLine();
        md.AppendLine("| target | measured | status |").AppendLine("| --- | --- | --- |");
        foreach (var t in targets)
        {
            string status = t.Status switch { TargetStatus.Met => "met", TargetStatus.NotMet => "**not met**", _ => "not measured" };
            md.AppendLine($"| {t.Target} | {t.Measured} | {status} |");
        }
        md.AppendLine();
    }

    private static void AppendSpeeds(StringBuilder md, IReadOnlyList<StepResult> compares)
    {
        md.AppendLine("### Chars/s, single-threaded").AppendLine();
        md.AppendLine("Median round; in brackets the median over rounds of the engine's chars/s over ONNX Runtime's in the same round. The roofline fraction is Runtime f32's chars/s over what reading its weight bytes at the measured single-thread bandwidth allows, per round, median.").AppendLine();
        md.Append("| model |");
        foreach (var e in Engines) md.Append($" {e.Heading} |");
        md.AppendLine(" f32 of roofline | read GB/s | weight MB/char |");
        md.AppendLine("| --- |" + string.Concat(Enumerable.Repeat(" ---: |", Engines.Length + 3)));
        bool aboveCeiling = false;
        foreach (var compare in compares)
        {
            md.Append($"| {compare.Step.Label} |");
            foreach (var e in Engines)
            {
                JsonObject? line = compare.EngineLine(e.Engine, e.DType);
                md.Append(line is null ? " – |" : FormattableString.Invariant($" {(double)line["chars_per_sec"]!:N0} ({(double)line["onnxruntime_ratio"]!:0.00}×) |"));
            }
            JsonNode? roofline = compare.Wrapped("roofline");
            double fraction = roofline is null ? 0 : (double)roofline["runtime_f32_median_round_fraction_of_bound"]!;
            aboveCeiling |= fraction > 1;
            md.AppendLine(roofline is null ? " – | – | – |" : FormattableString.Invariant(
                $" {fraction:0.00}{(fraction > 1 ? " ‡" : "")} | {(double)roofline["read_bandwidth_gb_per_s"]!:0.0} | {(double)roofline["weight_bytes_per_char"]! / 1e6:0.00} |"));
        }
        md.AppendLine();
        if (aboveCeiling)
        {
            md.AppendLine("‡ Above 1: the engine read its weights faster than the sum loops read a buffer of their size, so that ceiling is no ceiling. The loops read with `Vector<float>` (256 bits on this machine) and no prefetch, the Runtime's f32 kernel with 512-bit loads in tiles of eight rows; it happens where the weights fit in L2, which the roofline target does not cover.").AppendLine();
        }
    }

    private static void AppendEngineCosts(StringBuilder md, IReadOnlyList<StepResult> compares)
    {
        md.AppendLine("### Load, first character and allocation per engine").AppendLine();
        md.AppendLine("`load_ms` is the first load in the process (JIT and native start-up included, as a game's first model pays), `warm_load_ms` a second one; `first_char_ms` the first step after the first load. Bytes per character count managed allocation only, which is all of the Runtime's but not the native engines' heaps.").AppendLine();
        md.AppendLine("| model | engine | load ms | warm load ms | first char ms | B/char |").AppendLine("| --- | --- | ---: | ---: | ---: | ---: |");
        foreach (var compare in compares)
        {
            foreach (var e in Engines)
            {
                if (compare.EngineLine(e.Engine, e.DType) is not { } line) continue;
                md.AppendLine(FormattableString.Invariant(
                    $"| {compare.Step.Label} | {e.Heading} | {(double)line["load_ms"]!:0.0} | {(double)line["warm_load_ms"]!:0.0} | {(double)line["first_char_ms"]!:0.00} | {(double)line["alloc_bytes_per_char"]!:0.#} |"));
            }
        }
        md.AppendLine();
    }

    private static void AppendOtherFigures(StringBuilder md, IReadOnlyList<StepResult> results)
    {
        var figures = new List<string>();
        foreach (var result in results)
        {
            var lines = result.Objects;
            switch (result.Step.Kind)
            {
                case StepKind.LoadTime when lines.FirstOrDefault(o => (string?)o["phase"] == "total") is { } total:
                    figures.Add(FormattableString.Invariant(
                        $"**Load** ({result.Step.Label}, {(long)total["file_bytes"]!:N0} bytes): `TextModel.Load(path)` median {(double)total["warm_median_from_file_ms"]!:0.0} ms, fastest {(double)total["warm_min_from_file_ms"]!:0.0} ms; from bytes in memory median {(double)total["warm_median_ms"]!:0.0} ms; {total["warm_median_minor_faults_from_file"]} minor page faults per load at {(double)total["page_fault_median_us"]!:0.0} µs each."));
                    break;
                case StepKind.BatchScaling:
                    var sessions = lines.Where(o => o.ContainsKey("sessions")).Select(o => FormattableString.Invariant($"{o["sessions"]} {((int)o["sessions"]! == 1 ? "session" : "sessions")} {(double)o["chars_per_sec"]!:N0} chars/s ({(double)o["speedup"]!:0.00}×)"));
                    JsonNode? bound = result.Wrapped("bound");
                    string ceiling = bound is null ? "" : FormattableString.Invariant($"; the compute bound is {(double)bound["measured_compute_bound_chars_per_sec"]!:N0} chars/s at the measured {(double)bound["measured_peak_gmacs"]!:0.0} G multiply-adds/s ({(double)bound["compute_bound_chars_per_sec"]!:N0} at the nominal {(string)bound["peak_arithmetic"]!}), at most {(double)bound["measured_largest_possible_speedup"]!:0.0}× one session; the batch reached {(double)bound["best_fraction_of_measured_compute_bound"]!:0%} of it");
                    figures.Add($"**Batched sessions** ({result.Step.Label}, one thread): {string.Join(", ", sessions)}{ceiling}.");
                    break;
                case StepKind.ThreadScaling:
                    figures.Add($"**Threads** ({result.Step.Label}, one generator per thread): " + string.Join(", ", lines.Select(o => FormattableString.Invariant($"{o["threads"]} × {(double)o["chars_per_sec"]!:N0} chars/s ({(double)o["scaling"]!:0.00}×)"))) + ".");
                    break;
                case StepKind.GenerationSpeed:
                    var rate = lines.ToDictionary(o => (string)o["mode"]!, o => (double)o["chars_per_sec"]!);
                    if (rate.TryGetValue("fast", out double fast) && rate.TryGetValue("strict", out double strict))
                    {
                        figures.Add(FormattableString.Invariant($"**Strict determinism** ({result.Step.Label}, sampling at temperature 0.8): fast {fast:N0} chars/s, strict {strict:N0} chars/s, strict/fast {strict / fast:0.000}."));
                    }
                    break;
                case StepKind.Evaluation:
                    figures.Add($"**Validation loss** ({result.Step.Label}, nats per character): " + string.Join(", ", lines.Select(o => FormattableString.Invariant($"{(string)o["dtype"]!} {(double)o["loss_nats"]!:0.0000}"))) + ".");
                    break;
            }
        }
        if (figures.Count == 0) return;
        md.AppendLine("### Other figures").AppendLine();
        foreach (string figure in figures) md.AppendLine($"- {figure}");
        md.AppendLine();
    }
}
