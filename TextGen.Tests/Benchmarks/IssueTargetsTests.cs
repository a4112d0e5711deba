using System.Text.Json.Nodes;
using TextGen.Benchmarks.Report;

namespace TextGen.Tests.Benchmarks;

/// <summary>Issue #5's targets read from the steps' JSON lines: which figure each uses, its floor, and what is not measured.</summary>
public sealed class IssueTargetsTests
{
    [TestCase(3.0, true, "3.00")]
    [TestCase(2.99, false, "2.99")]
    [TestCase(2.997, false, "2.997")]
    public void Q8RatioMustHoldOnEveryModel(double randomModelRatio, bool met, string shown)
    {
        TargetStatus expected = met ? TargetStatus.Met : TargetStatus.NotMet;
        var checks = Check(Compare("shipped", null, q8: 3.4), Compare("random 2×512", 512, q8: randomModelRatio));

        TargetCheck q8 = checks.Single(c => c.Target.StartsWith("Runtime q8 ≥ 3.0×", StringComparison.Ordinal));
        Assert.That(q8.Status, Is.EqualTo(expected));
        Assert.That(q8.Measured, Is.EqualTo($"shipped 3.40×; random 2×512 {shown}×"));
    }

    [TestCase(9.96, 1, "9.96")]
    [TestCase(9.94, 1, "9.9")]
    [TestCase(10.04, 1, "10.0")]
    [TestCase(9.99996, 1, "9.99996")]
    public void FiguresKeepTheDecimalsThatShowWhichSideOfTheTargetTheyAre(double milliseconds, int decimals, string shown)
    {
        Assert.That(IssueTargets.Shown(milliseconds, decimals, ms => ms < IssueTargets.LoadMilliseconds), Is.EqualTo(shown));
    }

    [Test]
    public void F32TargetsSplitLargeModelsFromModelsWhoseWeightsFitInL2()
    {
        var checks = Check(Compare("shipped", null, f32: 1.5, roofline: 0.91), Compare("random 2×512", 512, f32: 0.99, roofline: 0.95), Compare("random 2×128", 128, f32: 2.1, roofline: 0.5));

        Assert.That(Status(checks, "Runtime f32 ≥ 1.0×"), Is.EqualTo(TargetStatus.NotMet), "0.99 at hidden 512");
        Assert.That(Status(checks, "Runtime f32 ≥ 90%"), Is.EqualTo(TargetStatus.Met), "the small model's roofline does not count");
        Assert.That(Status(checks, "Runtime f32 ≥ 2.0×"), Is.EqualTo(TargetStatus.Met));
        Assert.That(checks.Single(c => c.Target.StartsWith("Runtime f32 ≥ 2.0×", StringComparison.Ordinal)).Measured, Is.EqualTo("random 2×128 2.10×"));
    }

    [Test]
    public void LoadBatchThreadsLossSizeAndAllocationReadTheirOwnFigures()
    {
        var checks = Check(
            [
                Result(StepKind.LoadTime, null, """{"phase":"parse","warm_median_from_file_ms":1}""", """{"phase":"total","warm_median_ms":7,"warm_median_from_file_ms":10.0,"warm_min_from_file_ms":8.9,"rounds":40}"""),
                Compare("shipped", null),
                Result(StepKind.BatchScaling, null, """{"sessions":1,"speedup":1,"alloc_bytes_per_char":0}""", """{"sessions":32,"speedup":8.0,"speedup_min":6.25,"speedup_max":9.5,"alloc_bytes_per_char":0.5}""", """{"bound":{"largest_possible_speedup":3.2,"measured_largest_possible_speedup":3.6}}"""),
                Result(StepKind.ThreadScaling, null, """{"threads":1,"scaling":1}""", """{"threads":2,"scaling":1.69}"""),
                Result(StepKind.Evaluation, null, """{"dtype":"f32","loss_nats":1.40}""", """{"dtype":"q8","loss_nats":1.409}"""),
            ],
            f32Bytes: 1000, q8Bytes: 301);

        Assert.That(Status(checks, "shipped-model load"), Is.EqualTo(TargetStatus.NotMet), "the median from the file, 10.0 ms, is not under 10");
        Assert.That(Status(checks, "32 batched sessions"), Is.EqualTo(TargetStatus.Met));
        Assert.That(checks.Single(c => c.Target.StartsWith("32 batched", StringComparison.Ordinal)).Measured, Does.Contain("8.00× (rounds 6.25–9.50×)").And.Contain("at most 3.6×"));
        Assert.That(Status(checks, "2 threads"), Is.EqualTo(TargetStatus.NotMet));
        Assert.That(Status(checks, "q8 validation loss"), Is.EqualTo(TargetStatus.Met));
        Assert.That(Status(checks, "q8 file"), Is.EqualTo(TargetStatus.NotMet), "30.1%");
        Assert.That(Status(checks, "0 bytes"), Is.EqualTo(TargetStatus.NotMet), "the 32-session batch allocated");
    }

    [Test]
    public void TheBatchTargetReadsTheWeightFilesOwnBatchAndTheQ8BatchCountsForAllocation()
    {
        // The report runs the file's batch, then a q8 one; the target is the file's, wherever the q8 step sits.
        var q8 = new StepResult(new ReportStep(StepKind.BatchScaling, "shipped, q8", null, ["batch-scaling", "--dtype", "q8"]), 0, [],
            [JsonNode.Parse("""{"sessions":1,"speedup":1,"alloc_bytes_per_char":0}""")!.AsObject(), JsonNode.Parse("""{"sessions":32,"speedup":1.2,"alloc_bytes_per_char":0.25}""")!.AsObject()], "");
        var checks = Check(q8, Compare("shipped", null), Result(StepKind.BatchScaling, null, """{"sessions":1,"speedup":1,"alloc_bytes_per_char":0}""", """{"sessions":32,"speedup":8.5,"alloc_bytes_per_char":0}"""));

        Assert.That(Status(checks, "32 batched sessions"), Is.EqualTo(TargetStatus.Met), "8.5×, not the q8 batch's 1.2×");
        Assert.That(checks.Single(c => c.Target.StartsWith("32 batched", StringComparison.Ordinal)).Measured, Does.StartWith("8.50×"));
        Assert.That(Status(checks, "0 bytes"), Is.EqualTo(TargetStatus.NotMet), "the q8 batch allocated");
    }

    [Test]
    public void FiguresNoStepPrintedAreNotMeasured()
    {
        var checks = Check(Compare("shipped", null));

        foreach (string target in new[] { "Runtime f32 ≥ 2.0×", "q8 validation loss", "shipped-model load", "32 batched sessions", "2 threads" })
            Assert.That(Status(checks, target), Is.EqualTo(TargetStatus.NotMeasured), target);
        Assert.That(Status(checks, "0 bytes"), Is.EqualTo(TargetStatus.Met));
        Assert.That(checks, Has.Count.EqualTo(11));
    }

    private static IReadOnlyList<TargetCheck> Check(params StepResult[] results) => Check(results, 1000, 280);

    private static IReadOnlyList<TargetCheck> Check(StepResult[] results, long f32Bytes, long q8Bytes) => IssueTargets.Check(results, f32Bytes, q8Bytes);

    private static TargetStatus Status(IReadOnlyList<TargetCheck> checks, string targetStart)
        => checks.Single(c => c.Target.StartsWith(targetStart, StringComparison.Ordinal)).Status;

    private static StepResult Compare(string label, int? hidden, double f32 = 1.5, double f16 = 1.8, double q8 = 3.5, double roofline = 0.95)
    {
        string Line(string engine, string dtype, double ratio) => $$"""{"engine":"{{engine}}","dtype":"{{dtype}}","onnxruntime_ratio":{{ratio}},"alloc_bytes_per_char":0}""";
        return Labelled(StepKind.Compare, hidden, label,
            Line("runtime", "f32", f32), Line("runtime", "f16", f16), Line("runtime", "q8", q8), Line("onnxruntime", "f32", 1),
            $$$"""{"roofline":{"runtime_f32_median_round_fraction_of_bound":{{{roofline}}}}}""");
    }

    private static StepResult Result(StepKind kind, int? hidden, params string[] json) => Labelled(kind, hidden, "shipped", json);

    private static StepResult Labelled(StepKind kind, int? hidden, string label, params string[] json)
        => new(new ReportStep(kind, label, hidden, ["test"]), 0, json, json.Select(j => JsonNode.Parse(j)!.AsObject()).ToList(), "");
}
