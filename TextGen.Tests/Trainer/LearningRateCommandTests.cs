using System.Globalization;
using System.Text.Json;
using TextGen.Runtime.Format;
using TextGen.Tests.Support;
using TextGen.Trainer.Checkpoints;
using TextGen.Trainer.Cli;
using TextGen.Trainer.Plots;
using TextGen.Trainer.Training;

namespace TextGen.Tests.Trainer;

/// <summary>The <c>lr-find</c> and <c>plot</c> commands, <c>train --lr auto</c> and <c>--recreate-optimizer-every</c> on the command line.</summary>
public sealed class LearningRateCommandTests
{
    private static readonly string[] Tiny = ["--hidden", "16", "--embedding", "8", "--batch", "4", "--seq-len", "16", "--threads", "1"];

    private TrainingSandbox _sandbox = null!;
    private string _corpus = null!;

    [SetUp]
    public void SetUp()
    {
        _sandbox = new TrainingSandbox();
        _corpus = _sandbox.WriteCorpus();
    }

    [TearDown]
    public void TearDown() => _sandbox.Dispose();

    private static ChildProcess.Result Run(params string[] args) => TrainerCommand.Run(args);

    private static string LastLine(string output) => output.TrimEnd().Split('\n')[^1];

    [Test]
    public void LrFindEndsWithJsonAndWritesCsvAndPng()
    {
        string directory = _sandbox.PathOf("find");
        var (code, output, error) = Run(["lr-find", "--corpus", _corpus, "--out", directory, .. Tiny]);
        Assert.That(code, Is.Zero, error);

        using var json = JsonDocument.Parse(LastLine(output));
        var root = json.RootElement;
        var csv = File.ReadAllLines(Path.Combine(directory, LearningRateSweep.CsvFileName));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(root.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "suggested_lr", "diverged_at_lr" }));
            Assert.That(root.GetProperty("suggested_lr").GetDouble(), Is.InRange(LearningRateSweep.StartLr, LearningRateSweep.EndLr));
            Assert.That(root.GetProperty("diverged_at_lr").ValueKind, Is.AnyOf(JsonValueKind.Null, JsonValueKind.Number));
            Assert.That(csv, Has.Length.InRange(3, LearningRateFinder.DefaultSteps + 1), "a header and a line per step until the sweep ended");
            Assert.That(root.GetProperty("suggested_lr").GetDouble(), Is.EqualTo(SuggestionOf(csv)), "the JSON and the CSV agree");
            PngImage.AssertValid(Path.Combine(directory, LearningRatePlot.FileName));
        }
    }

    // The documented rule, applied to the CSV by hand: the rate at the lowest smoothed loss, over ten.
    private static double SuggestionOf(string[] csv)
    {
        var rows = csv.Skip(1).Select(l => l.Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray()).Where(r => double.IsFinite(r[2]));
        return rows.MinBy(r => r[2])![0] / 10;
    }

    [Test]
    public void TrainLrAutoTrainsAtTheSuggestionAndResumeKeepsIt()
    {
        string directory = _sandbox.PathOf("auto");
        var (code, output, error) = Run(["train", "--corpus", _corpus, "--out", directory, "--lr", "auto", "--steps", "10", "--eval-every", "5", .. Tiny]);
        Assert.That(code, Is.Zero, error);
        double suggested = SuggestionOf(File.ReadAllLines(Path.Combine(directory, LearningRateSweep.CsvFileName)));
        double recorded = Checkpoint.Open(directory).State.Config.Lr;
        var exported = ModelFile.ReadFile(Path.Combine(directory, "model.tgm")).Metadata["config"].String;

        var (resumeCode, resumed, resumeError) = Run("resume", directory, "--steps", "5");
        var csv = File.ReadAllBytes(Path.Combine(directory, LearningRateSweep.CsvFileName));
        var (findCode, _, findError) = Run(["lr-find", "--corpus", _corpus, "--out", directory, "--steps", "10", .. Tiny]);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(findCode, Is.EqualTo(TrainerCommandLine.Usage), "lr-find into the run would replace the record of its rate");
            Assert.That(findError, Does.Contain($"--out {directory} holds a training run; give lr-find a directory of its own"));
            Assert.That(File.ReadAllBytes(Path.Combine(directory, LearningRateSweep.CsvFileName)), Is.EqualTo(csv));
            Assert.That(output, Does.Contain(string.Create(CultureInfo.InvariantCulture, $"--lr auto: training at {suggested:G3}, the range test's suggestion")));
            Assert.That(recorded, Is.EqualTo(suggested), "the number, not 'auto', is the run's --lr");
            Assert.That(JsonDocument.Parse(exported).RootElement.GetProperty("lr").GetDouble(), Is.EqualTo(suggested));
            PngImage.AssertValid(Path.Combine(directory, LearningRatePlot.FileName));
            PngImage.AssertValid(Path.Combine(directory, LossPlot.FileName));
            Assert.That(resumeCode, Is.Zero, resumeError);
            Assert.That(resumed, Does.Not.Contain("range test"), "a resume never runs the test again");
            Assert.That(Checkpoint.Open(directory).State.Config.Lr, Is.EqualTo(suggested));
            Assert.That(Checkpoint.Open(directory).State.Step, Is.EqualTo(15));
        }
    }

    [Test]
    public void PlotOverlaysRunsFromTheirMetrics()
    {
        string a = _sandbox.PathOf("a"), b = _sandbox.PathOf("b"), png = _sandbox.PathOf("both.png");
        Assert.That(Run(["train", "--corpus", _corpus, "--out", a, "--steps", "10", "--eval-every", "5", .. Tiny]).ExitCode, Is.Zero);
        Assert.That(Run(["train", "--corpus", _corpus, "--out", b, "--steps", "10", "--eval-every", "5", "--recreate-optimizer-every", "3", .. Tiny]).ExitCode, Is.Zero);

        var (code, output, error) = Run("plot", a, b, "--out", png);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(code, Is.Zero, error);
            Assert.That(output, Does.Contain("a: 2 evaluations, b: 2 evaluations"));
            Assert.That(PngImage.AssertValid(png), Is.EqualTo((LossPlot.Width, LossPlot.Height)));
        }
    }

    [TestCase("lr-find --steps -5", "--steps must be between 10 and 100000 (got -5)")]
    [TestCase("lr-find --steps 3", "--steps must be between 10 and 100000 (got 3)")]
    [TestCase("lr-find --hidden 0", "--hidden must be between 1 and 8192 (got 0)")]
    [TestCase("lr-find --val-fraction 1", "--val-fraction must be above 0 and below 1 (got 1)")]
    [TestCase("train --lr fast", "--lr must be a number or auto (got fast)")]
    [TestCase("train --lr -1", "--lr must be a finite number above 0")]
    [TestCase("train --recreate-optimizer-every 0", "--recreate-optimizer-every must be between 1 and")]
    [TestCase("train --recreate-optimizer-every -3", "--recreate-optimizer-every must be between 1 and")]
    public void NonsenseValuesAreUsageErrorsThatNameTheOption(string command, string message)
    {
        var words = command.Split(' ');
        string directory = _sandbox.PathOf("out");
        var (code, _, error) = Run([words[0], "--corpus", _corpus, "--out", directory, .. words[1..]]);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(code, Is.EqualTo(TrainerCommandLine.Usage));
            Assert.That(error, Does.Contain(message));
            Assert.That(error, Does.Not.Contain("   at "), "no stack trace");
            Assert.That(Directory.Exists(directory), Is.False, "nothing written");
        }
    }

    [Test]
    public void PlotRejectsBadOutputAndMissingRuns()
    {
        Directory.CreateDirectory(_sandbox.PathOf("empty"));
        var notPng = Run("plot", _sandbox.Root, "--out", _sandbox.PathOf("runs.txt"));
        var missing = Run("plot", _sandbox.PathOf("nowhere"), "--out", _sandbox.PathOf("runs.png"));
        var notARun = Run("plot", _sandbox.PathOf("empty"), "--out", _sandbox.PathOf("runs.png"));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(notPng.ExitCode, Is.EqualTo(TrainerCommandLine.Usage));
            Assert.That(notPng.Error, Does.Contain("must end in .png"));
            Assert.That(missing.ExitCode, Is.EqualTo(TrainerCommandLine.Failure));
            Assert.That(missing.Error, Does.Contain($"{_sandbox.PathOf("nowhere")}: no such directory"));
            Assert.That(notARun.ExitCode, Is.EqualTo(TrainerCommandLine.Failure));
            Assert.That(notARun.Error, Does.Contain("holds no metrics.jsonl"));
            Assert.That(File.Exists(_sandbox.PathOf("runs.png")), Is.False);
        }
    }
}
