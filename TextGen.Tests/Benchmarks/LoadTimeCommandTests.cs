using System.CommandLine;
using System.Text.Json.Nodes;
using TextGen.Benchmarks;
using TextGen.Runtime.Format;
using TextGen.Tests.Support;

namespace TextGen.Tests.Benchmarks;

/// <summary>The benchmarks' <c>load-time</c> command (issue #5's load target): its output contract. Times are printed, never asserted.</summary>
public sealed class LoadTimeCommandTests
{
    private static (int Code, JsonNode[] Lines, string Error) Run(params string[] args)
    {
        var (code, lines, error) = BenchmarkCommand.Run(LoadTime.Command(), args);
        return (code, lines.Select(l => JsonNode.Parse(l)!).ToArray(), error);
    }

    private static Dictionary<string, JsonNode> ByPhase(JsonNode[] lines) => lines.ToDictionary(l => (string)l["phase"]!);

    [Test]
    public void PrintsEveryPhaseThenATotalTheyAddUpTo()
    {
        string model = Repository.PathOf("artifacts", "count123.tgm");
        var (code, lines, error) = Run("--model", model, "--rounds", "3");

        Assert.That(code, Is.EqualTo(0), error);
        var phases = ByPhase(lines);
        Assert.That((string)lines[^1]["phase"]!, Is.EqualTo("total"));
        Assert.That((string)lines[^2]["phase"]!, Is.EqualTo("unaccounted"));
        // A small file is hashed on the loading thread: no helper below 1 MiB.
        Assert.That(phases.Keys, Is.SupersetOf(new[] { "parse", "copy_and_check_f32", "hash_header", "hash_tensors", "input_table", "fingerprint" }));
        Assert.That(phases.Keys, Has.No.Member(TensorDigest.HelperPhase));
        using (Assert.EnterMultipleScope())
        {
            foreach (var line in lines.SkipLast(2))
            {
                Assert.That((double)line["cold_ms"]!, Is.GreaterThanOrEqualTo(0), line.ToJsonString());
                Assert.That((double)line["warm_min_ms"]!, Is.LessThanOrEqualTo((double)line["warm_median_ms"]!), line.ToJsonString());
                Assert.That((int)line["warm_loads"]!, Is.EqualTo(3), line.ToJsonString());
                // Load(path) goes through the same phases, reading the file as it parses it.
                Assert.That((double)line["warm_min_from_file_ms"]!, Is.LessThanOrEqualTo((double)line["warm_median_from_file_ms"]!), line.ToJsonString());
            }
            var total = lines[^1];
            Assert.That((string)total["model"]!, Is.EqualTo(model));
            Assert.That((string)total["dtype"]!, Is.EqualTo("f32"));
            Assert.That((long)total["file_bytes"]!, Is.EqualTo(new FileInfo(model).Length));
            Assert.That((bool)total["helper_thread"]!, Is.True);
            Assert.That((long)total["warm_median_alloc_bytes"]!, Is.GreaterThan(0));
            Assert.That((long)total["cold_jit_methods"]!, Is.GreaterThanOrEqualTo(0));
            Assert.That((double)total["warm_gc_pause_ms"]!, Is.GreaterThanOrEqualTo(0));
            if (OperatingSystem.IsLinux())
            {
                Assert.That((double)total["warm_median_minor_faults"]!, Is.GreaterThanOrEqualTo(0));
                // Touching the pages of a new mapping takes time; the per-page figure is that time over the file's pages
                // (both printed to 0.001, so the quotient of the printed touch time may differ by half a microsecond over the pages).
                double touch = (double)total["fresh_memory_touch_median_ms"]!;
                Assert.That(touch, Is.GreaterThan(0));
                double pages = Math.Ceiling(new FileInfo(model).Length / (double)Environment.SystemPageSize);
                Assert.That((double)total["page_fault_median_us"]!, Is.EqualTo(touch * 1000 / pages).Within(0.001 + 0.5 / pages));
            }
            Assert.That((double)total["warm_gc_pause_from_file_ms"]!, Is.GreaterThanOrEqualTo(0));
            Assert.That((double)total["warm_min_from_file_ms"]!, Is.GreaterThan(0).And.LessThanOrEqualTo((double)total["warm_median_from_file_ms"]!));
            // The loading thread's phases and the unaccounted rest make up the whole call.
            double coldPhases = lines.SkipLast(1).Sum(l => (double)l["cold_ms"]!);
            Assert.That(coldPhases, Is.EqualTo((double)total["cold_ms"]!).Within(0.001 * lines.Length));
        }
    }

    [TestCase(false, "join_tensor_hash")]
    [TestCase(true, "hash_tensors")]
    public void TheShippedModelIsHashedOnAHelperThreadUnlessAskedNotTo(bool oneThread, string hashPhase)
    {
        string[] args = ["--model", Repository.PathOf("artifacts", "shakespeare.tgm"), "--rounds", "1"];
        var (code, lines, error) = Run(oneThread ? [.. args, "--one-thread"] : args);

        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(ByPhase(lines).Keys, Does.Contain(hashPhase));
        Assert.That((bool)lines[^1]["helper_thread"]!, Is.EqualTo(!oneThread));
    }

    [Test]
    public void AConvertedModelHasNoColdLoad()
    {
        var (code, lines, error) = Run("--model", Repository.PathOf("artifacts", "count123.tgm"), "--rounds", "2", "--dtype", "q8");

        Assert.That(code, Is.EqualTo(0), error);
        var total = lines[^1];
        Assert.That((string)total["dtype"]!, Is.EqualTo("q8"));
        Assert.That(total["cold_ms"], Is.Null);
        Assert.That(total["cold_jit_methods"], Is.Null);
        Assert.That(total["warm_median_from_file_ms"], Is.Null, "a converted model has no file to load");
        Assert.That(ByPhase(lines).Keys, Does.Contain("check_values"));
    }

    [Test]
    public void AMissingOrDamagedModelFileIsNamed()
    {
        string path = Path.Combine(Path.GetTempPath(), $"textgen-load-time-{Guid.NewGuid():N}.tgm");
        var (code, lines, error) = Run("--model", path);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(lines, Is.Empty);
        Assert.That(error, Does.Contain(path));

        File.WriteAllBytes(path, new byte[] { 0x90 });
        try
        {
            (code, lines, error) = Run("--model", path);
            Assert.That(code, Is.EqualTo(1));
            Assert.That(lines, Is.Empty);
            Assert.That(error, Does.Contain(path).And.Contain("not a TextGen model file"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestCase("--rounds", "0")]
    [TestCase("--dtype", "q4")]
    public void NonsenseValuesAreUsageErrorsThatNameTheOption(string option, string value)
    {
        var (code, lines, error) = Run("--model", "unused.tgm", option, value);

        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(lines, Is.Empty);
        Assert.That(error, Does.Contain(option));
    }
}
