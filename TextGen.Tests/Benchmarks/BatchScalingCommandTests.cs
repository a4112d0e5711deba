using System.CommandLine;
using System.Text.Json.Nodes;
using TextGen.Benchmarks;
using TextGen.Runtime.Format;

namespace TextGen.Tests.Benchmarks;

/// <summary>The benchmarks' <c>batch-scaling</c> command (issue #5 §4) on tiny inputs: its output contract. Speeds are printed, never asserted.</summary>
public sealed class BatchScalingCommandTests
{
    private static (int Code, string[] Lines, string Error) Run(params string[] args) => BenchmarkCommand.Run(BatchScaling.Command(), args);

    [TestCase(null, "f32")]
    [TestCase("q8", "q8")]
    public void PrintsOneJsonLinePerSessionCountThenTheBound(string? dtype, string expectedDType)
    {
        string model = Path.Combine(AppContext.BaseDirectory, "artifacts", "count123.tgm");
        string[] args = ["--model", model, "--chars", "50", "--rounds", "2", "--sessions", "3,2"];
        var (code, lines, error) = Run(dtype is null ? args : [.. args, "--dtype", dtype]);

        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(lines, Has.Length.EqualTo(5), string.Join("\n", lines));
        Assert.That(lines[0], Does.StartWith($"model {model}: Lstm 1x16 {expectedDType}"));
        var json = lines.Skip(1).Select(l => JsonNode.Parse(l)!).ToArray();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(json.Take(3).Select(j => (int)j["sessions"]!), Is.EqualTo(new[] { 1, 2, 3 }), "1 is added as the base; ascending");
            Assert.That(json.Take(3).Select(j => (string)j["dtype"]!), Is.All.EqualTo(expectedDType));
            Assert.That(json.Take(3).Select(j => (double)j["chars_per_sec"]!), Is.All.GreaterThan(0));
            Assert.That((double)json[0]["speedup"]!, Is.EqualTo(1.0));
            Assert.That((double)json[2]["speedup"]!, Is.EqualTo((double)json[2]["chars_per_sec"]! / (double)json[0]["chars_per_sec"]!).Within(0.002));
            Assert.That((double)json[2]["per_session_chars_per_sec"]!, Is.EqualTo((double)json[2]["chars_per_sec"]! / 3).Within(1));
            Assert.That(json.Take(3).Select(j => (double)j["alloc_bytes_per_char"]!), Is.All.EqualTo(0), "a batch step allocates nothing");
            Assert.That(((double)json[0]["speedup_min"]!, (double)json[0]["speedup_max"]!), Is.EqualTo((1.0, 1.0)), "one session's rounds against themselves");
            Assert.That(json.Skip(1).Take(2).Select(j => (double)j["speedup_min"]!), Is.All.GreaterThan(0));
            foreach (JsonNode line in json.Skip(1).Take(2))
            {
                Assert.That((double)line["speedup"]!, Is.InRange((double)line["speedup_min"]!, (double)line["speedup_max"]!), "the median speedup lies within the rounds' range");
            }
        }
        JsonNode bound = json[3]["bound"]!;
        Assert.That((string)bound["peak_arithmetic"]!, Does.Contain(expectedDType == "q8" ? "int8 multiply-adds" : "float lanes"), "q8 is bound by integer arithmetic");
        // count123.tgm: 1-layer LSTM, 16 hidden, embedding 8 (its input table replaces W_ih·x), vocabulary 4: W_hh 64×16 + head 4×16
        Assert.That((long)bound["multiply_adds_per_char"]!, Is.EqualTo(64 * 16 + 4 * 16));
        Assert.That((double)bound["compute_bound_chars_per_sec"]!, Is.EqualTo((double)bound["peak_gmacs"]! * 1e9 / (64 * 16 + 4 * 16)).Within(0.01).Percent);
        Assert.That((double)bound["read_bandwidth_gb_per_s"]!, Is.GreaterThan(0));
        // The measured peak gives its own bound by the same arithmetic; a batch can never beat its own compute bound by much.
        Assert.That((double)bound["measured_peak_gmacs"]!, Is.GreaterThan(0));
        Assert.That((double)bound["measured_compute_bound_chars_per_sec"]!, Is.EqualTo((double)bound["measured_peak_gmacs"]! * 1e9 / (64 * 16 + 4 * 16)).Within(0.5).Percent);
        Assert.That((double)bound["measured_largest_possible_speedup"]!, Is.EqualTo((double)bound["measured_compute_bound_chars_per_sec"]! / (double)json[0]["chars_per_sec"]!).Within(0.5).Percent);
        Assert.That((double)bound["best_fraction_of_measured_compute_bound"]!, Is.GreaterThan(0).And.LessThan(1.5));
    }

    [Test]
    public void PrimeCharsAddsTheBatchedPrimesRateToEveryLine()
    {
        string model = Path.Combine(AppContext.BaseDirectory, "artifacts", "count123.tgm");
        var (code, lines, error) = Run("--model", model, "--chars", "20", "--rounds", "2", "--sessions", "4", "--prime-chars", "30");

        Assert.That(code, Is.EqualTo(0), error);
        var json = lines.Skip(1).Take(2).Select(l => JsonNode.Parse(l)!).ToArray();
        Assert.That(json.Select(j => (double)j["prime_chars_per_sec"]!), Is.All.GreaterThan(0));
        Assert.That((double)json[0]["prime_speedup"]!, Is.EqualTo(1.0));
        Assert.That((double)json[1]["prime_speedup"]!, Is.EqualTo((double)json[1]["prime_chars_per_sec"]! / (double)json[0]["prime_chars_per_sec"]!).Within(0.002));

        var (_, plain, _) = Run("--model", model, "--chars", "20", "--rounds", "1", "--sessions", "4");
        Assert.That(JsonNode.Parse(plain[1])!.AsObject().ContainsKey("prime_chars_per_sec"), Is.False, "not measured unless asked for");
    }

    [Test]
    public void AMissingModelFileIsNamed()
    {
        string path = Path.Combine(Path.GetTempPath(), $"textgen-batch-missing-{Guid.NewGuid():N}.tgm");
        var (code, lines, error) = Run("--model", path, "--chars", "5");

        Assert.That(code, Is.EqualTo(1));
        Assert.That(lines, Is.Empty);
        Assert.That(error, Does.Contain(path));
    }

    [TestCase("--sessions", "0,2")]
    [TestCase("--sessions", "two")]
    [TestCase("--chars", "-5")]
    [TestCase("--rounds", "0")]
    [TestCase("--dtype", "q4")]
    [TestCase("--prime-chars", "-1")]
    public void NonsenseValuesAreUsageErrorsThatNameTheOption(string option, string value)
    {
        var (code, lines, error) = Run("--model", "unused.tgm", option, value);

        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(lines, Is.Empty);
        Assert.That(error, Does.Contain(option));
    }

    [TestCase("0")]
    [TestCase("8193")]
    public void AHiddenSizeOutOfRangeIsAUsageErrorThatNamesTheRange(string value)
    {
        // Without --model, so that the either-or check (whose message also names --hidden) stays quiet.
        var (code, lines, error) = Run("--hidden", value);

        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(lines, Is.Empty);
        Assert.That(error, Does.Contain($"--hidden must be 1 to {ModelArchitecture.MaxHiddenSize}").And.Not.Contain("give either"));
    }

    [Test]
    public void ModelAndHiddenTogetherOrNeitherAreUsageErrors()
    {
        Assert.That(Run("--chars", "5").Code, Is.Not.EqualTo(0));
        var (code, _, error) = Run("--model", "unused.tgm", "--hidden", "8");
        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(error, Does.Contain("either --model FILE or --hidden N"));
    }
}
