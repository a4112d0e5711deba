using System.Text.RegularExpressions;
using TextGen.Runtime.Format;
using TextGen.Runtime.Generation;
using TextGen.Runtime.Model;
using TextGen.Runtime.Sampling;
using TextGen.Tests.Support;

namespace TextGen.Tests.Artifacts;

/// <summary>The weight files in <c>artifacts/</c>, as the demo ships them, and the demo scene run as a user would.</summary>
public sealed class ShippedModelTests
{
    private static readonly string[] ShippedFiles = { "shakespeare.tgm", "count123.tgm" };

    private static string ArtifactPath(string fileName) => Path.Combine(AppContext.BaseDirectory, "artifacts", fileName);

    [TestCaseSource(nameof(ShippedFiles))]
    public void ShippedFileLoadsAndMatchesTheDigestOnItsModelCard(string fileName)
    {
        // Reading verifies both stored SHA-256 digests; the card's digest ties the file to the documented training run.
        ModelFile file = ModelFile.ReadFile(ArtifactPath(fileName));
        string card = File.ReadAllText(Repository.PathOf("artifacts", "README.md"));
        var recorded = Regex.Match(card, $@"`{Regex.Escape(fileName)}`[^\n]*?tensor_sha256 `([0-9a-f]{{64}})`");

        Assert.That(recorded.Success, Is.True, $"artifacts/README.md records no tensor_sha256 for {fileName}");
        Assert.That(file.TensorSha256, Is.EqualTo(recorded.Groups[1].Value));
        Assert.That(file.Metadata["corpus_sha256"].String, Has.Length.EqualTo(64));
    }

    [Test]
    public void Count123ContinuesThePatternExactlyFromEveryValidPrime()
    {
        var model = TextModel.Load(ArtifactPath("count123.tgm"));
        var generator = model.CreateGenerator(new GeneratorOptions { Sampling = new SamplingOptions { Temperature = 0 } });
        string pattern = string.Concat(Enumerable.Repeat("1 2 3 ", 400));
        var buffer = new char[1000];
        int primes = 0;
        for (int start = 0; start < 6; start++)
        {
            for (int length = 1; length <= 12; length++)
            {
                string prime = pattern.Substring(start, length);
                if (prime == " ") continue; // a lone space could precede any digit: not a valid prime
                generator.Reset();
                generator.Prime(prime);
                int written = 0;
                while (written < buffer.Length) written += generator.Generate(buffer.AsSpan(written));
                Assert.That(new string(buffer), Is.EqualTo(pattern.Substring(start + length, 1000)), $"prime \"{prime}\"");
                primes++;
            }
        }
        Assert.That(primes, Is.EqualTo(69));
    }

    // Each "Sample (`command`…):" of the model card and the code block after it.
    private static IEnumerable<TestCaseData> CardSamples()
    {
        string card = File.ReadAllText(Repository.PathOf("artifacts", "README.md"));
        var samples = Regex.Matches(card, @"^Sample \(`dotnet run --project TextGen\.Demo -- (?<args>[^`]+)`.*?^```\n(?<text>.*?)\n```", RegexOptions.Singleline | RegexOptions.Multiline);
        foreach (Match sample in samples)
        {
            yield return new TestCaseData(sample.Groups["args"].Value, sample.Groups["text"].Value).SetArgDisplayNames(sample.Groups["args"].Value);
        }
    }

    [Test]
    public void TheCardShowsASampleOfEachModel()
    {
        Assert.That(CardSamples().Count(), Is.EqualTo(ShippedFiles.Length));
    }

    [TestCaseSource(nameof(CardSamples))]
    public void TheCardsSampleIsWhatItsCommandWrites(string commandLine, string text)
    {
        // Strict mode's text is the same on every CPU, so the card's sample is what any reader's machine writes.
        string[] args = Regex.Matches(commandLine, "\"([^\"]*)\"|(\\S+)")
            .Select(m => m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value)
            .Select(arg => arg.StartsWith("artifacts/", StringComparison.Ordinal) ? ArtifactPath(arg["artifacts/".Length..]) : arg)
            .ToArray();
        Assert.That(args, Does.Contain("--strict"));

        var output = new StringWriter();
        var error = new StringWriter();
        int code = TextGen.Demo.DemoCommandLine.Run(args, TextReader.Null, output, error);

        Assert.That(code, Is.Zero, error.ToString());
        Assert.That(output.ToString().TrimEnd('\n'), Is.EqualTo(text));
    }

    [Test]
    public void DemoSceneRunsHeadlessAndEndsCleanly()
    {
        // The scene ends by itself; the timeout only stops a hang.
        var demo = ChildProcess.Run(ChildProcess.Dotnet, new[] { Path.Combine(AppContext.BaseDirectory, "TextGen.Demo.dll"), "--duration", "4" },
            AppContext.BaseDirectory, TimeSpan.FromMinutes(1));
        string output = demo.Output;

        Assert.That(demo.ExitCode, Is.EqualTo(0), demo.Error);
        Assert.That(demo.Error, Is.Empty);
        Assert.That(output, Does.Contain("MERCUTIO:"));
        Assert.That(output, Does.Not.Contain("\u001b["), "no colour codes when output is redirected");
        Assert.That(output, Does.Contain("-- scene over --"));
        Assert.That(output, Does.Match(@"generation speed:\s+\d+ chars/s \([1-9]\d* chars in"), "the NPCs spoke");
        Assert.That(output, Does.Match(@"worst frame time:\s+[\d.]+ ms"));
        Assert.That(output, Does.Match(@"bytes allocated:\s+\d+"));
    }
}
