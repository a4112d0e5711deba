using System.Text.Json.Nodes;
using TextGen.Benchmarks.Report;
using TextGen.Tests.Support;

namespace TextGen.Tests.Benchmarks;

/// <summary>
/// The benchmarks' <c>report</c> command (issue #5 §6) on the shipped count model with tiny rounds: it runs every
/// step, echoes their output, and writes the section between the markers of its file, leaving the rest as it was.
/// Speeds are printed, never asserted; what is asserted is that the tables say what the steps printed.
/// </summary>
public sealed class ReportCommandTests
{
    private const string Intro = "# Performance\n\nHand-written text before the report.\n\n";
    private const string Outro = "\n\n## History\n\nHand-written text after it.\n";

    private string _directory = null!;

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("textgen-report-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public void WritesEveryMeasurementBetweenTheMarkersAndKeepsTheRestOfTheFile()
    {
        string doc = Document($"{ReportDocument.Begin}\nold figures\n{ReportDocument.End}");
        string corpus = Path.Combine(_directory, "count.txt");
        File.WriteAllText(corpus, string.Concat(Enumerable.Repeat("1 2 3 ", 300)));

        var (code, lines, error) = Report("--model", CountModel, "--hidden", "8", "--corpus", corpus, "--out", doc, "--chars", "30", "--rounds", "1", "--load-rounds", "2");

        Assert.That(code, Is.EqualTo(0), error);
        string text = File.ReadAllText(doc);
        Assert.That(text, Does.StartWith(Intro + ReportDocument.Begin + "\n## Current results\n"));
        Assert.That(text, Does.EndWith(ReportDocument.End + Outro));
        Assert.That(text, Does.Not.Contain("old figures"));

        // Every step's command is echoed before its output and listed in the file, each exactly as it can be rerun.
        string[] commands = lines.Where(l => l.StartsWith("$ ", StringComparison.Ordinal)).Select(l => l[2..]).ToArray();
        Assert.That(commands.Select(c => c.Split(" -- ")[1].Split(' ')[0]), Is.EqualTo(new[] { "load-time", "compare", "compare", "batch-scaling", "batch-scaling", "thread-scaling", "generation-speed", "eval" }));
        foreach (string command in commands) Assert.That(text, Does.Contain(command + "\n"));
        Assert.That(commands[2], Is.EqualTo("dotnet run -c Release --project TextGen.Benchmarks -- compare --hidden 8 --chars 150 --rounds 1"));
        Assert.That(commands[4], Does.Contain(" -- batch-scaling --model ").And.Contain(" --dtype q8 --sessions 1,32 "), "a crowd in q8 too");
        Assert.That(commands[7], Does.StartWith("dotnet run -c Release --project TextGen.Trainer -- eval --model "));

        // The targets table is the checks' rendering, row by row, and the summary line counts them.
        var summary = JsonNode.Parse(lines[^1])!["report"]!;
        var rows = text.Split('\n').SkipWhile(l => l != "| target | measured | status |").Skip(2).TakeWhile(l => l.StartsWith('|')).ToList();
        Assert.That(rows, Has.Count.EqualTo(11));
        Assert.That(rows.Count(r => r.EndsWith("| met |", StringComparison.Ordinal)), Is.EqualTo((int)summary["targets_met"]!));
        Assert.That(rows.Count(r => r.EndsWith("| **not met** |", StringComparison.Ordinal)), Is.EqualTo((int)summary["targets_not_met"]!));
        Assert.That((int)summary["targets_not_measured"]!, Is.Zero, "with a corpus, 2 CPUs and a small model every target is measured");
        Assert.That((string)summary["out"]!, Is.EqualTo(doc));

        // The speed table has a row per compared model, with the chars/s compare printed for Runtime f32.
        JsonObject shippedF32 = JsonObjects(lines).First(o => (string?)o["engine"] == "runtime" && (string?)o["dtype"] == "f32");
        string shippedRow = text.Split('\n').Single(l => l.StartsWith("| shipped (count123.tgm) | ", StringComparison.Ordinal) && l.Count(c => c == '|') == 10);
        Assert.That(shippedRow, Does.Contain($"| {(double)shippedF32["chars_per_sec"]!:N0} ("));
        Assert.That(text, Does.Contain("| random LSTM 2×8 | "));
        Assert.That(text, Does.Contain("**Batched sessions** (shipped (count123.tgm), one thread): 1 session ").And.Contain("**Batched sessions** (shipped (count123.tgm), q8, one thread): 1 session "));
        Assert.That(text, Does.Contain("**Validation loss** (shipped (count123.tgm), nats per character): f32 "));
    }

    [Test]
    public void WithoutOutPrintsTheSectionAndMarksWhatItDidNotMeasure()
    {
        var (code, lines, error) = Report("--model", CountModel, "--hidden", "", "--chars", "20", "--rounds", "1", "--load-rounds", "1");

        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(lines.Count(l => l.StartsWith("$ ", StringComparison.Ordinal)), Is.EqualTo(6), "no random models, no corpus: load, compare, two batches, threads, strict");
        Assert.That(lines, Does.Contain("## Current results"));
        Assert.That(lines.Single(l => l.StartsWith("| q8 validation loss", StringComparison.Ordinal)), Does.EndWith("| not measured: no --corpus | not measured |"));
        Assert.That(lines.Single(l => l.StartsWith("| Runtime f32 ≥ 2.0×", StringComparison.Ordinal)), Does.EndWith("| no such model measured | not measured |"));
        Assert.That((string?)JsonNode.Parse(lines[^1])!["report"]!["out"], Is.Null);
    }

    [TestCase("no markers at all\n", "no line \"<!-- report:begin")]
    [TestCase("<!-- report:end -->\n<!-- report:begin (generated by TextGen.Benchmarks report; edits between these markers are overwritten) -->\n", "comes before")]
    public void AFileWithoutUsableMarkersIsRefusedBeforeMeasuringAndLeftAlone(string content, string message)
    {
        string doc = Path.Combine(_directory, "performance.md");
        File.WriteAllText(doc, content);

        var (code, lines, error) = Report("--model", CountModel, "--out", doc);

        Assert.That(code, Is.EqualTo(1));
        Assert.That(error, Does.Contain(doc).And.Contain(message));
        Assert.That(lines, Is.Empty, "nothing measured");
        Assert.That(File.ReadAllText(doc), Is.EqualTo(content));
    }

    [Test]
    public void MissingFilesAreNamed()
    {
        string missing = Path.Combine(_directory, "missing");
        string doc = Document($"{ReportDocument.Begin}\n{ReportDocument.End}");

        Assert.That(Report("--model", missing + ".tgm").Error, Does.Contain(missing + ".tgm"));
        Assert.That(Report("--model", CountModel, "--out", missing + ".md").Error, Does.Contain(missing + ".md"));
        var (code, lines, error) = Report("--model", CountModel, "--out", doc, "--corpus", missing + ".txt");
        Assert.That(code, Is.EqualTo(1));
        Assert.That(error.TrimEnd(), Is.EqualTo($"{missing}.txt: no such file"));
        Assert.That(lines, Is.Empty);
    }

    [Test]
    public void AnUnusableCorpusOrOutputIsRefusedBeforeMeasuring()
    {
        string doc = Document($"{ReportDocument.Begin}\n{ReportDocument.End}");
        string binary = Path.Combine(_directory, "binary.txt");
        File.WriteAllBytes(binary, [0x41, 0x00, 0x42]);

        var binaryCorpus = Report("--model", CountModel, "--out", doc, "--corpus", binary);
        var directoryOut = Report("--model", CountModel, "--out", _directory);
        var emptyOut = Report("--model", CountModel, "--out", "");

        using (Assert.EnterMultipleScope())
        {
            Assert.That((binaryCorpus.Code, binaryCorpus.Lines), Is.EqualTo((1, Array.Empty<string>())));
            Assert.That(binaryCorpus.Error, Does.StartWith($"{binary}: looks binary"));
            Assert.That((directoryOut.Code, directoryOut.Lines), Is.EqualTo((1, Array.Empty<string>())));
            Assert.That(directoryOut.Error.TrimEnd(), Is.EqualTo($"--out \"{_directory}\": give the Markdown file that holds the report:begin and report:end lines"));
            Assert.That((emptyOut.Code, emptyOut.Error.TrimEnd()), Is.EqualTo((1, "--out \"\": give the Markdown file that holds the report:begin and report:end lines")));
        }
    }

    [TestCase("512,x")]
    [TestCase("0")]
    [TestCase("8193")]
    public void BadHiddenSizesAreAUsageError(string hidden)
    {
        var (code, _, error) = Report("--model", CountModel, "--hidden", hidden);

        Assert.That(code, Is.Not.Zero);
        Assert.That(error, Does.Contain("--hidden must list hidden sizes"));
    }

    private static string CountModel => Repository.PathOf("artifacts", "count123.tgm");

    private string Document(string markers)
    {
        string path = Path.Combine(_directory, "performance.md");
        File.WriteAllText(path, Intro + markers + Outro);
        return path;
    }

    private static (int Code, string[] Lines, string Error) Report(params string[] args)
        => BenchmarkCommand.Run(PerformanceReport.Command(), args);

    private static IEnumerable<JsonObject> JsonObjects(IEnumerable<string> lines)
        => lines.Where(l => l.StartsWith('{')).Select(l => JsonNode.Parse(l)!.AsObject());
}
