using TextGen.Tests.Support;
using TextGen.Trainer.Cli;
using static TextGen.Tests.Trainer.TrainerCommand;

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

    // A tiny run's options, each replaced when the test gives it again (an option given twice is its own error).
    private ChildProcess.Result Train(params string[] overrides)
    {
        var options = new Dictionary<string, string>
        {
            ["--corpus"] = _corpus, ["--out"] = _out, ["--hidden"] = "16", ["--batch"] = "4", ["--seq-len"] = "16", ["--steps"] = "10",
        };
        for (int i = 0; i < overrides.Length; i += 2) options[overrides[i]] = overrides[i + 1];
        return Run(["train", .. options.SelectMany(o => new[] { o.Key, o.Value })]);
    }

    [TestCase("--hidden", "-5", "--hidden must be between 1 and 8192 (got -5)")]
    [TestCase("--hidden", "abc", "--hidden takes a whole number up to 2147483647, not 'abc'")]
    [TestCase("--steps", "many", "--steps takes a whole number up to 9223372036854775807, not 'many'")]
    [TestCase("--lr", "fast", "--lr must be a number or auto (got fast)")]
    [TestCase("--dropout", "half", "--dropout takes a number, not 'half'")]
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
    [TestCase("--hidden", "0", "--hidden must be between 1 and 8192 (got 0)")]
    [TestCase("--layers", "0", "--layers must be between 1 and 16 (got 0)")]
    [TestCase("--dropout", "1.5", "--dropout must be at least 0 and below 1 (got 1.5)")]
    [TestCase("--dropout", "NaN", "--dropout must be at least 0 and below 1 (got NaN)")]
    [TestCase("--threads", "-1", "--threads must be between 0 and 1024 (got -1)")]
    [TestCase("--steps", "0", "--steps must be between 1 and")]
    [TestCase("--checkpoint-every", "0", "--checkpoint-every must be between 1 and")]
    [TestCase("--lr", "-0.5", "--lr must be a finite number above 0")]
    [TestCase("--decay-factor", "0", "--decay-factor must be a finite number above 0 and at most 1 (got 0)")]
    [TestCase("--warmup", "-1", "--warmup must be between 0 and")]
    [TestCase("--val-fraction", "1", "--val-fraction must be above 0 and below 1 (got 1)")]
    [TestCase("--arch", "transformer", "--arch: Argument 'transformer' not recognized")]
    [TestCase("--schedule", "linear", "--schedule: Argument 'linear' not recognized")]
    [TestCase("--on-divergence", "ignore", "--on-divergence: Argument 'ignore' not recognized")]
    [TestCase("--minutes", "1", "give either --steps or --minutes, not both")]
    [TestCase("--bogus", "1", "Unrecognized command or argument '--bogus'")]
    [TestCase("--weight-decay", "-0.1", "--weight-decay must be a finite number between 0 and 100 (got -0.1)")]
    [TestCase("--weight-decay", "NaN", "--weight-decay must be a finite number between 0 and 100 (got NaN)")]
    [TestCase("--weight-decay", "Infinity", "--weight-decay must be a finite number between 0 and 100")]
    [TestCase("--average-from", "-1", "--average-from must be between 0 and")]
    [TestCase("--average-from", "soon", "--average-from takes a whole number up to 9223372036854775807, not 'soon'")]
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
    public void TrainWithWeightDecayAndAveragingStoresBothAndExportsTheMean()
    {
        var (code, output, error) = Train("--weight-decay", "0.1", "--average-from", "6", "--eval-every", "5", "--threads", "1");
        Assert.That(code, Is.EqualTo(TrainerCommandLine.Ok), error);
        var model = TextGen.Runtime.Format.ModelFile.ReadFile(Path.Combine(_out, "model.tgm"));
        var checkpoint = TextGen.Trainer.Checkpoints.Checkpoint.Open(_out).State;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(checkpoint.Config.WeightDecay, Is.EqualTo(0.1));
            Assert.That(checkpoint.Config.AverageFrom, Is.EqualTo(6));
            Assert.That(checkpoint.AverageCount, Is.EqualTo(5), "steps 6 to 10");
            Assert.That(model.Metadata["averaged_steps"].Number, Is.EqualTo(5));
            Assert.That(model.Metadata["config"].String, Does.Contain("\"weight_decay\":0.1").And.Contain("\"average_from\":6"));
            Assert.That(File.ReadAllLines(Path.Combine(_out, "metrics.jsonl")).Select(l => l.Contains("\"averaged\":true")), Is.EqualTo(new[] { false, true }));
            Assert.That(output, Does.Contain("(averaged)"));
        }
    }

    [TestCase("--steps", "0", "--steps must be between 1 and 4611686018427387903 (got 0)")]
    [TestCase("--steps", "-1", "--steps must be between 1 and 4611686018427387903 (got -1)")]
    [TestCase("--warmup", "10", "--warmup must be below --steps (10 >= 10)")]
    [TestCase("--average-from", "10", "--average-from 10 is not below --steps 10, so no step would be averaged")]
    [TestCase("--out", "", "--out must name a directory, not an empty string")]
    public void AnOptionThatCannotWorkIsTheOneLineOfTheError(string option, string value, string message)
    {
        var (code, output, error) = Train(option, value);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(code, Is.EqualTo(TrainerCommandLine.Usage));
            Assert.That(error.TrimEnd(), Is.EqualTo(message));
            Assert.That(output, Is.Empty);
            Assert.That(Directory.Exists(_out), Is.False);
        }
    }

    [Test]
    public void LearningRateFinderRefusesAnEmptyOut()
    {
        var (code, _, error) = Run("lr-find", "--corpus", _corpus, "--out", "");
        Assert.That((code, error.TrimEnd()), Is.EqualTo((TrainerCommandLine.Usage, "--out must name a directory, not an empty string")));
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
        [Values("missing", "directory", "unreadable", "empty", "binary", "latin1", "short")] string kind,
        [Values] bool outExists)
    {
        _corpus = _sandbox.WriteBadCorpus(kind);
        if (outExists) Directory.CreateDirectory(_out);
        var (code, _, error) = Train();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(code, Is.EqualTo(TrainerCommandLine.Failure));
            Assert.That(error, Does.StartWith(_corpus + ": "));
            Assert.That(error, Does.Not.Contain("   at "));
            Assert.That(Directory.Exists(_out), Is.EqualTo(outExists), "--out is neither created nor removed");
            if (outExists) Assert.That(Directory.GetFileSystemEntries(_out), Is.Empty, "an existing empty --out stays empty");
        }
    }

    [TestCase("resume", "missing", "no such directory")]
    [TestCase("resume", "file", "is a file, not a run or checkpoint directory")]
    [TestCase("resume", "empty", "holds no checkpoint (no checkpoint.json in it or in checkpoint/)")]
    [TestCase("resume", "interrupted", "holds no complete checkpoint: the run was stopped while writing its first one (checkpoint.tmp/); delete the directory and start again with train")]
    [TestCase("export", "missing", "no such directory")]
    [TestCase("export", "file", "not a TextGen model file")] // export also converts weight files, so a file is read as one
    [TestCase("export", "empty", "holds no checkpoint")]
    [TestCase("export", "interrupted", "holds no complete checkpoint")]
    public void RunDirectoryWithoutACheckpointFailsNamingIt(string command, string kind, string message)
    {
        string model = _sandbox.PathOf("model.tgm");
        if (kind == "file") _out = _corpus;
        if (kind is "empty" or "interrupted") Directory.CreateDirectory(_out);
        // What a kill during train's first checkpoint leaves: a partial temporary directory and nothing else.
        if (kind == "interrupted")
        {
            Directory.CreateDirectory(Path.Combine(_out, "checkpoint.tmp"));
            File.WriteAllBytes(Path.Combine(_out, "checkpoint.tmp", "model.bin"), [1, 2, 3]);
        }
        var (code, _, error) = Run(command == "resume" ? ["resume", _out] : ["export", _out, "--out", model]);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(code, Is.EqualTo(TrainerCommandLine.Failure));
            Assert.That(error, Does.StartWith($"{_out}: {message}"));
            Assert.That(File.Exists(model), Is.False);
        }
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
    public void ExportRejectsUnsupportedDtype()
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
        Assert.That(Run().ExitCode, Is.EqualTo(TrainerCommandLine.Usage));
    }
}
