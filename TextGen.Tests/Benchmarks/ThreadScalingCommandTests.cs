using System.CommandLine;
using System.Text.Json.Nodes;
using TextGen.Benchmarks;

namespace TextGen.Tests.Benchmarks;

/// <summary>The benchmarks' <c>thread-scaling</c> command (issue #5 §5) on tiny inputs: its output contract. Speeds are printed, never asserted.</summary>
public sealed class ThreadScalingCommandTests
{
    private static (int Code, string[] Lines, string Error) Run(params string[] args) => BenchmarkCommand.Run(ThreadScaling.Command(), args);

    [TestCase(null, "f32")]
    [TestCase("q8", "q8")]
    public void PrintsOneJsonLinePerThreadCountScaledAgainstOneThread(string? dtype, string expectedDType)
    {
        string model = Path.Combine(AppContext.BaseDirectory, "artifacts", "count123.tgm");
        string[] args = ["--model", model, "--chars", "200", "--rounds", "2", "--threads", "3"];
        var (code, lines, error) = Run(dtype is null ? args : [.. args, "--dtype", dtype]);

        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(lines, Has.Length.EqualTo(4), string.Join("\n", lines));
        Assert.That(lines[0], Does.StartWith($"model {model}: Lstm 1x16 {expectedDType}"));
        var json = lines.Skip(1).Select(l => JsonNode.Parse(l)!).ToArray();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(json.Select(j => (int)j["threads"]!), Is.EqualTo(new[] { 1, 2, 3 }));
            Assert.That(json.Select(j => (string)j["dtype"]!), Is.All.EqualTo(expectedDType));
            Assert.That(json.Select(j => (double)j["chars_per_sec"]!), Is.All.GreaterThan(0));
            Assert.That((double)json[0]["scaling"]!, Is.EqualTo(1.0));
            Assert.That((double)json[2]["scaling"]!, Is.EqualTo((double)json[2]["chars_per_sec"]! / (double)json[0]["chars_per_sec"]!).Within(0.002));
        }
    }

    [Test]
    public void AMissingModelFileIsNamed()
    {
        string path = Path.Combine(Path.GetTempPath(), $"textgen-scaling-missing-{Guid.NewGuid():N}.tgm");
        var (code, lines, error) = Run("--model", path, "--chars", "5");

        Assert.That(code, Is.EqualTo(1));
        Assert.That(lines, Is.Empty);
        Assert.That(error, Does.Contain(path));
    }

    [TestCase("--threads", "0")]
    [TestCase("--chars", "-5")]
    [TestCase("--dtype", "q4")]
    public void NonsenseValuesAreUsageErrorsThatNameTheOption(string option, string value)
    {
        var (code, lines, error) = Run("--model", "unused.tgm", option, value);

        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(lines, Is.Empty);
        Assert.That(error, Does.Contain(option));
    }
}
