using System.Globalization;
using TextGen.Trainer.Cli;

namespace TextGen.Tests.Trainer;

public sealed class TrainerCommandLineTests
{
    private TrainingSandbox _sandbox = null!;
    private string _corpus = null!;
    private string _out = null!;

    [SetUp]
    public void SetUp()
    {
        _sandbox = new TrainingSandbox();
        _corpus = _sandbox.WriteCorpus();
        _out = _sandbox.PathOf("run");
    }

    [TearDown]
    public void TearDown() => _sandbox.Dispose();

    private (int Code, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter(CultureInfo.InvariantCulture);
        var error = new StringWriter(CultureInfo.InvariantCulture);
        int code = TrainerCommandLine.Run(args, output, error, CancellationToken.None);
        return (code, output.ToString(), error.ToString());
    }

    // A tiny run's options, each replaced when the test gives it again (an option given twice is its own error).
    private (int Code, string Output, string Error) Train(params string[] overrides)
    {
        var options = new Dictionary<string, string>
        {
            ["--corpus"] = _corpus, ["--out"] = _out, ["--hidden"] = "16", ["--batch"] = "4", ["--seq-len"] = "16", ["--steps"] = "10",
        };
        for (int i = 0; i < overrides.Length; i += 2) options[overrides[i]] = overrides[i + 1];
        return Run(["train", .. options.SelectMany(o => new[] { o.Key, o.Value })]);
    }

    [TestCase("--hidden", "-5", "--hidden must be between 1 and 8192 (got -5)")]
    [TestCase("--hidden", "abc", "Cannot parse argument 'abc' for option '--hidden'")]
    [TestCase("--lr", "0", "--lr must be a finite number above 0")]
    [TestCase("--lr", "NaN", "--lr must be a finite number above 0 and at most 100 (got NaN)")]
    [TestCase("--lr", "Infinity", "--lr must be a finite number above 0")]
    [TestCase("--seq-len", "0", "--seq-len must be between 1 and 100000 (got 0)")]
    [TestCase("--batch", "0", "--batch must be between 1 and 100000 (got 0)")]
    [TestCase("--layers", "17", "--layers must be between 1 and 16 (got 17)")]
    [TestCase("--embedding", "-1", "--embedding must be between 0 and 8192 (got -1)")]
    [TestCase("--dropout", "1", "--dropout must be at least 0 and below 1 (got 1)")]
    [TestCase("--clip", "-1", "--clip must be a finite number above 0")]
    [TestCase("--val-fraction", "0", "--val-fraction must be above 0 and below 1 (got 0)")]
    [TestCase("--eval-every", "0", "--eval-every must be between 1 and")]
    [TestCase("--threads", "-2", "--threads must be between 0 and 1024 (got -2)")]
    [TestCase("--arch", "transformer", "--arch: Argument 'transformer' not recognized")]
    [TestCase("--schedule", "linear", "--schedule: Argument 'linear' not recognized")]
    [TestCase("--on-divergence", "ignore", "--on-divergence: Argument 'ignore' not recognized")]
    [TestCase("--minutes", "1", "give either --steps or --minutes, not both")]
    [TestCase("--bogus", "1", "Unrecognized command or argument '--bogus'")]
    public void NonsenseOptionIsAUsageErrorThatNamesItAndWritesNothing(string option, string value, string message)
    {
        var (code, _, error) = Train(option, value);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(code, Is.EqualTo(TrainerCommandLine.Usage));
            Assert.That(error, Does.Contain(message));
            Assert.That(error, Does.Not.Contain("   at "), "no stack trace");
            Assert.That(Directory.Exists(_out), Is.False);
        }
    }

    [Test]
    public void CosineWithMinutesIsAUsageError()
    {
        var (code, _, error) = Run("train", "--corpus", _corpus, "--out", _out, "--minutes", "1", "--schedule", "cosine");
        Assert.That(code, Is.EqualTo(TrainerCommandLine.Usage));
        Assert.That(error, Does.Contain("--schedule cosine needs --steps"));
    }

    [Test]
    public void MissingRequiredOptionIsAUsageError()
    {
        var (code, _, error) = Run("train", "--out", _out);
        Assert.That(code, Is.EqualTo(TrainerCommandLine.Usage));
        Assert.That(error, Does.Contain("Option '--corpus' is required."));
    }

    [Test]
    public void NonEmptyOutputDirectoryIsAUsageErrorAndStaysUntouched()
    {
        Directory.CreateDirectory(_out);
        File.WriteAllText(Path.Combine(_out, "notes.txt"), "mine");
        var (code, _, error) = Train();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(code, Is.EqualTo(TrainerCommandLine.Usage));
            Assert.That(error, Does.Contain($"--out {_out} already exists and is not empty; continue it with `resume {_out}`"));
            Assert.That(Directory.GetFileSystemEntries(_out), Is.EqualTo(new[] { Path.Combine(_out, "notes.txt") }));
        }
    }

    [Test]
    public void BadCorpusFailsWithItsMessageAndWritesNothing(
        [Values("missing", "directory", "empty", "binary", "latin1", "short")] string kind)
    {
        _corpus = kind switch
        {
            "missing" => _sandbox.PathOf("missing.txt"),
            "directory" => _sandbox.Root,
            "empty" => _sandbox.WriteBytes("empty.txt", []),
            "binary" => _sandbox.WriteBytes("binary.bin", [1, 2, 0, 3]),
            "latin1" => _sandbox.WriteBytes("latin1.txt", [(byte)'c', (byte)'a', (byte)'f', 0xE9]),
            _ => _sandbox.WriteBytes("short.txt", "too short"u8.ToArray()),
        };
        var (code, _, error) = Train();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(code, Is.EqualTo(TrainerCommandLine.Failure));
            Assert.That(error, Does.StartWith(_corpus + ": "));
            Assert.That(error, Does.Not.Contain("   at "));
            Assert.That(Directory.Exists(_out), Is.False);
        }
    }

    [Test]
    public void ResumeWithoutACheckpointFails()
    {
        Directory.CreateDirectory(_out);
        var (code, _, error) = Run("resume", _out);
        Assert.That(code, Is.EqualTo(TrainerCommandLine.Failure));
        Assert.That(error, Does.Contain($"{_out}: holds no checkpoint"));
    }

    [TestCase("--steps", "0", "--steps must be at least 1 (got 0)")]
    [TestCase("--minutes", "-1", "--minutes must be a finite number above 0 (got -1)")]
    public void ResumeRejectsNonsenseBudgets(string option, string value, string message)
    {
        var (code, _, error) = Run("resume", _out, option, value);
        Assert.That(code, Is.EqualTo(TrainerCommandLine.Usage));
        Assert.That(error, Does.Contain(message));
    }

    [Test]
    public void ExportRejectsUnsupportedDtypeAndMissingRuns()
    {
        var (dtypeCode, _, dtypeError) = Run("export", _out, "--out", _sandbox.PathOf("m.tgm"), "--dtype", "q4");
        var (missingCode, _, missingError) = Run("export", _out, "--out", _sandbox.PathOf("m.tgm"));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(dtypeCode, Is.EqualTo(TrainerCommandLine.Usage));
            Assert.That(dtypeError, Does.Contain("--dtype: Argument 'q4' not recognized"));
            Assert.That(missingCode, Is.EqualTo(TrainerCommandLine.Failure));
            Assert.That(missingError, Does.Contain($"{_out}: no such directory"));
        }
    }

    [Test]
    public void NoCommandIsAUsageError()
    {
        Assert.That(Run().Code, Is.EqualTo(TrainerCommandLine.Usage));
    }
}
