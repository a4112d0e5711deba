using System.CommandLine;
using System.Text.Json.Nodes;
using TextGen.Benchmarks;
using TextGen.Runtime.Format;
using TextGen.Tests.Support;

namespace TextGen.Tests.Benchmarks;

/// <summary>
/// The benchmarks' <c>compare</c> command (issue #5 §2) run in the test process on tiny inputs: its output contract,
/// and that every f32 engine generates the same argmax text, which is what makes their speeds comparable.
/// Speeds are printed, never asserted.
/// </summary>
public sealed class CompareCommandTests
{
    private static readonly string[] Engines = ["runtime f32", "runtime f16", "runtime q8", "onnxruntime f32", "torchsharp f32"];

    [Test]
    public void ShippedCountModelPrintsEveryEngineAndTheRooflineWithEqualF32Text()
    {
        var (code, lines, error) = Compare("--model", Repository.PathOf("artifacts", "count123.tgm"), "--chars", "30", "--rounds", "2");

        Assert.That(code, Is.EqualTo(0), error);
        AssertContract(lines);
        var f32 = lines.Take(Engines.Length).Where(l => (string)l["dtype"]! == "f32").ToList();
        Assert.That(f32.Select(l => (string)l["text_sha256"]!).Distinct().Count(), Is.EqualTo(1), string.Join("\n", lines));
        // The count model was trained to repeat "1 2 3 "; greedy generation after a space must do just that.
        Assert.That((string)f32[0]["text_start"]!, Is.EqualTo(string.Concat(Enumerable.Repeat("1 2 3 ", 5))));
        var roofline = lines[^1]["roofline"]!;
        // LSTM 1×16, embedding 8, vocabulary 4: table row 64 + W_hh 64×16 + bias 64 + head 4×16 + 4 = 1,220 floats.
        Assert.That((long)roofline["weight_bytes_per_char"]!, Is.EqualTo(1_220 * 4));
    }

    [Test]
    public void HiddenOptionBuildsTheIssuesRandomLstmInMemory()
    {
        var (code, lines, error) = Compare("--hidden", "8", "--chars", "20", "--rounds", "1");

        Assert.That(code, Is.EqualTo(0), error);
        AssertContract(lines);
        Assert.That((string)lines[^1]["roofline"]!["architecture"]!, Is.EqualTo("lstm 2x8, embedding 64, vocabulary 65"));
        var f32 = lines.Take(Engines.Length).Where(l => (string)l["dtype"]! == "f32");
        Assert.That(f32.Select(l => (string)l["text_sha256"]!).Distinct().Count(), Is.EqualTo(1), string.Join("\n", lines));
    }

    [TestCase(new string[0], "give either --model FILE or --hidden N")]
    [TestCase(new[] { "--model", "x.tgm", "--hidden", "8" }, "give either --model FILE or --hidden N")]
    [TestCase(new[] { "--hidden", "8", "--chars", "0" }, "--chars must be 1 to 10000000 (got 0)")]
    public void UsageErrorsAreNamed(string[] args, string message)
    {
        var (code, _, error) = Compare(args);

        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(error, Does.Contain(message));
    }

    [Test]
    public void MissingModelFileIsNamed()
    {
        string path = Path.Combine(Path.GetTempPath(), $"textgen-compare-missing-{Guid.NewGuid():N}.tgm");

        var (code, lines, error) = Compare("--model", path, "--chars", "5");

        Assert.That(code, Is.EqualTo(1));
        Assert.That(lines, Is.Empty);
        Assert.That(error, Does.Contain(path));
    }

    private static (int Code, List<JsonNode> Lines, string Error) Compare(params string[] args)
    {
        var (code, lines, error) = BenchmarkCommand.Run(EngineComparison.Command(), args);
        return (code, lines.Select(l => JsonNode.Parse(l)!).ToList(), error);
    }

    // One line per engine and dtype with the contract's keys and types, then the roofline line.
    private static void AssertContract(List<JsonNode> lines)
    {
        Assert.That(lines, Has.Count.EqualTo(Engines.Length + 1));
        Assert.That(lines.Take(Engines.Length).Select(l => $"{l["engine"]} {l["dtype"]}"), Is.EquivalentTo(Engines));
        using (Assert.EnterMultipleScope())
        {
            foreach (JsonNode line in lines.Take(Engines.Length))
            {
                foreach (string key in new[] { "chars_per_sec", "alloc_bytes_per_char", "load_ms", "warm_load_ms", "first_char_ms" })
                {
                    Assert.That(line[key]!.GetValueKind(), Is.EqualTo(System.Text.Json.JsonValueKind.Number), $"{line["engine"]} {line["dtype"]} {key}");
                    Assert.That((double)line[key]!, Is.GreaterThanOrEqualTo(0), $"{line["engine"]} {line["dtype"]} {key}");
                }
                Assert.That((double)line["chars_per_sec"]!, Is.GreaterThan(0));
                Assert.That((string)line["text_sha256"]!, Does.Match("^[0-9a-f]{64}$"));
                Assert.That((double)line["onnxruntime_ratio"]!, Is.GreaterThan(0), $"{line["engine"]} {line["dtype"]}");
            }
            // Round by round against itself: exactly 1.
            Assert.That((double)lines.Single(l => (string)l["engine"]! == "onnxruntime")["onnxruntime_ratio"]!, Is.EqualTo(1));
            JsonNode roofline = lines[^1]["roofline"]!;
            foreach (string key in new[] { "weight_bytes_per_char", "read_bandwidth_gb_per_s", "sequential_read_gb_per_s", "four_stream_read_gb_per_s", "bound_chars_per_sec", "runtime_f32_fraction_of_bound", "onnxruntime_f32_fraction_of_bound", "runtime_f32_median_round_fraction_of_bound", "onnxruntime_f32_median_round_fraction_of_bound" })
            {
                Assert.That(roofline[key]!.GetValueKind(), Is.EqualTo(System.Text.Json.JsonValueKind.Number), key);
                Assert.That((double)roofline[key]!, Is.GreaterThan(0), key);
            }
            // The ceiling is the faster read loop.
            Assert.That((double)roofline["read_bandwidth_gb_per_s"]!, Is.EqualTo(Math.Max((double)roofline["sequential_read_gb_per_s"]!, (double)roofline["four_stream_read_gb_per_s"]!)));
            // No round reads faster than the best round, so against each round's own read an engine is at least as close to its bound.
            foreach (string engine in new[] { "runtime", "onnxruntime" })
                Assert.That((double)roofline[$"{engine}_f32_median_round_fraction_of_bound"]!, Is.GreaterThanOrEqualTo((double)roofline[$"{engine}_f32_fraction_of_bound"]! - 0.001), engine);
        }
    }
}
