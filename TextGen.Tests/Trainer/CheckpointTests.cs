using TextGen.Tests.Support;
using TextGen.Trainer.Checkpoints;
using TextGen.Trainer.Plots;
using TextGen.Trainer.Data;
using TextGen.Trainer.Training;

namespace TextGen.Tests.Trainer;

public sealed class CheckpointTests : TinyTrainingFixture
{
    private string _run = null!;
    private string Latest => Path.Combine(_run, Checkpoint.LatestName);

    [SetUp]
    public void SetUp()
    {
        _run = Sandbox.PathOf("run");
        using var run = TrainingRun.Start(Config, Corpus.Load(Config.Corpus), _run);
        run.Train(new TrainingBudget(10, null), new RecordingReporter(), CancellationToken.None);
    }

    private static void PartialCopy(string from, string to)
    {
        Directory.CreateDirectory(to);
        File.Copy(Path.Combine(from, "model.bin"), Path.Combine(to, "model.bin"));
        File.WriteAllBytes(Path.Combine(to, "optimizer.bin"), File.ReadAllBytes(Path.Combine(from, "optimizer.bin"))[..100]);
    }

    // Resumes and trains to `step`; the directory must be tidy as soon as the resume has opened the run, before any
    // checkpoint write (which would also clear a NAME.tmp or NAME.old) could hide a leftover.
    private void ResumeTo(long step)
    {
        using var run = TrainingRun.Resume(_run, resetOptimizer: false);
        Assert.That(Entries(), Is.EqualTo(new[] { RunLock.FileName, "checkpoint", LossPlot.FileName, "metrics.jsonl" }), "tidied by the resume itself");
        run.Train(new TrainingBudget(step, null), new RecordingReporter(), CancellationToken.None);
    }

    private string[] Entries() => Directory.GetFileSystemEntries(_run).Select(Path.GetFileName).Order().ToArray()!;

    [Test]
    public void CrashWhileWritingTheTemporaryDirectoryKeepsTheLatest()
    {
        PartialCopy(Latest, Latest + ".tmp");
        Assert.That(Checkpoint.Open(_run).Directory, Is.EqualTo(Latest));
        ResumeTo(20);
        Assert.That(Entries(), Is.EqualTo(new[] { RunLock.FileName, "checkpoint", LossPlot.FileName, "metrics.jsonl" }));
        Assert.That(Checkpoint.Open(_run).State.Step, Is.EqualTo(20));
    }

    [Test]
    public void CrashBetweenTheTwoRenamesFallsBackToTheOldCheckpoint()
    {
        Directory.Move(Latest, Latest + ".old");
        PartialCopy(Latest + ".old", Latest + ".tmp");
        var found = Checkpoint.Open(_run);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(found.Directory, Is.EqualTo(Latest + ".old"));
            Assert.That(found.State.Step, Is.EqualTo(10));
        }
        ResumeTo(20);
        Assert.That(Entries(), Is.EqualTo(new[] { RunLock.FileName, "checkpoint", LossPlot.FileName, "metrics.jsonl" }));
        Assert.That(Checkpoint.Open(_run).State.Step, Is.EqualTo(20));
    }

    [Test]
    public void CrashBetweenTheRenamesOfANamedCheckpointFallsBackToItsOldTwin()
    {
        // --keep-best writes DIR/best the same way; export DIR/best and the end of a run open it by that name.
        string best = Path.Combine(_run, Checkpoint.BestName);
        Directories.CopyFiles(Latest, best + ".old");
        var found = Checkpoint.Open(best);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(found.Directory, Is.EqualTo(best + ".old"));
            Assert.That(found.State.Step, Is.EqualTo(10));
            Assert.That(Checkpoint.Find(best + Path.DirectorySeparatorChar), Is.EqualTo(best + ".old"), "a trailing separator names the same directory");
        }
    }

    [Test]
    public void CrashBeforeDeletingTheOldCheckpointUsesTheNewOne()
    {
        Directories.CopyFiles(Latest, Latest + ".old");
        ResumeTo(20);
        Assert.That(Checkpoint.Open(_run).State.Step, Is.EqualTo(20));
        Assert.That(Entries(), Is.EqualTo(new[] { RunLock.FileName, "checkpoint", LossPlot.FileName, "metrics.jsonl" }));
    }

    [TestCase(false, TestName = "ResumeTidiesABestWriteKilledBetweenItsRenames")]
    [TestCase(true, TestName = "ResumeTidiesABestWriteKilledBeforeDeletingItsOldTwin")]
    public void ResumeTidiesAKilledBestWriteAndKeepsTheBestThatOpenReads(bool renamed)
    {
        // The run's best is the step-10 checkpoint; a later best write was killed partway: NAME.tmp is unfinished,
        // and the previous best is NAME.old, alone (between the renames) or beside NAME (before deleting it).
        string best = Path.Combine(_run, Checkpoint.BestName);
        foreach (string copy in renamed ? [best, best + ".old"] : new[] { best + ".old" }) Directories.CopyFiles(Latest, copy);
        PartialCopy(Latest, best + ".tmp");
        string kept = File.ReadAllText(Path.Combine(Checkpoint.Find(best)!, "checkpoint.json"));

        using (TrainingRun.Resume(_run, resetOptimizer: false))
        {
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Entries(), Is.EqualTo(new[] { RunLock.FileName, Checkpoint.BestName, Checkpoint.LatestName, LossPlot.FileName, "metrics.jsonl" }));
            Assert.That(File.ReadAllText(Path.Combine(best, "checkpoint.json")), Is.EqualTo(kept), "the best Open read before is the one kept");
            Assert.That(Checkpoint.Open(best).Directory, Is.EqualTo(best));
        }
    }

    [Test]
    public void ARunIsOpenedByOneTrainingRunAtATime()
    {
        using (var first = TrainingRun.Resume(_run, resetOptimizer: false))
        {
            var e = Assert.Throws<CheckpointException>(() => TrainingRun.Resume(_run, resetOptimizer: false))!;
            Assert.That(e.Message, Is.EqualTo($"{_run}: another process is training this run ({RunLock.FileName} is locked); wait for it to finish or stop it, then resume"));
            Assert.That(first.Train(new TrainingBudget(12, null), new RecordingReporter(), CancellationToken.None).End, Is.EqualTo(TrainingEnd.Completed), "the refused resume changed nothing under the first");
        }
        using var second = TrainingRun.Resume(_run, resetOptimizer: false);
        Assert.That(second.Step, Is.EqualTo(12), "the lock goes with the run that held it");
    }

    [Test]
    public void ResumeOfADirectoryWithoutARunLeavesNoLockFile()
    {
        string empty = Sandbox.PathOf("empty");
        Directory.CreateDirectory(empty);
        Assert.Throws<CheckpointException>(() => TrainingRun.Resume(empty, resetOptimizer: false));
        Assert.That(Directory.GetFileSystemEntries(empty), Is.Empty);
    }

    [Test]
    public void ResumeThatFailsReleasesTheLock()
    {
        string model = Path.Combine(Latest, "model.bin");
        byte[] weights = File.ReadAllBytes(model);
        File.WriteAllBytes(model, weights[..200]);
        Assert.Throws<CheckpointException>(() => TrainingRun.Resume(_run, resetOptimizer: false));
        File.WriteAllBytes(model, weights);
        using var run = TrainingRun.Resume(_run, resetOptimizer: false);
        Assert.That(run.Step, Is.EqualTo(10));
    }

    [Test]
    public void ResumeKeepsACompleteOldCheckpointBesideADamagedOne()
    {
        // checkpoint/ without its checkpoint.json (damaged by hand, or half restored) beside a complete checkpoint.old:
        // Open reads the old one, so tidying must not delete it.
        Directories.CopyFiles(Latest, Latest + ".old");
        File.Delete(Path.Combine(Latest, "checkpoint.json"));

        using var run = TrainingRun.Resume(_run, resetOptimizer: false);

        Assert.That((run.Step, Directory.Exists(Latest + ".old"), Directory.Exists(Latest)), Is.EqualTo((10L, true, true)));
    }

    [Test]
    public void ResumeOfARunStillWritingItsFirstCheckpointSaysItIsBeingTrained()
    {
        Directory.Move(Latest, Latest + ".tmp");
        using (RunLock.Take(_run))
        {
            var e = Assert.Throws<CheckpointException>(() => TrainingRun.Resume(_run, resetOptimizer: false))!;
            Assert.That(e.Message, Does.Contain("another process is training this run"));
        }
        Assert.That(() => TrainingRun.Resume(_run, resetOptimizer: false), Throws.InstanceOf<CheckpointException>().With.Message.Contain("the run was stopped while writing its first one"));
    }

    // Before the refusal, such a resume went on inside the checkpoint: its lock, checkpoints and files one level down.
    [TestCase("checkpoint", "")]
    [TestCase("best", "")]
    [TestCase("best", ".old")]
    public void ResumeOfACheckpointDirectoryIsRefusedAndNamesItsRun(string name, string suffix)
    {
        string checkpoint = Path.Combine(_run, name);
        if (name != Checkpoint.LatestName) Directories.CopyFiles(Latest, checkpoint + suffix);
        string[] before = AllEntries();
        var e = Assert.Throws<CheckpointException>(() => TrainingRun.Resume(checkpoint, resetOptimizer: false))!;
        Assert.That(e.Message, Is.EqualTo($"{checkpoint}: is a checkpoint, not a run directory; resume continues a run from its latest checkpoint: resume {Path.GetFullPath(_run)}"));
        Assert.That(AllEntries(), Is.EqualTo(before));
    }

    private string[] AllEntries() => Directory.GetFileSystemEntries(_run, "*", SearchOption.AllDirectories).Order().ToArray();

    [Test]
    public void ResumeLeavesAnUnfinishedFirstCheckpointForItsErrorToName()
    {
        Directory.Move(Latest, Latest + ".tmp");
        var e = Assert.Throws<CheckpointException>(() => TrainingRun.Resume(_run, resetOptimizer: false))!;
        Assert.That(e.Message, Does.Contain("the run was stopped while writing its first one"));
        Assert.That(Directory.Exists(Latest + ".tmp"), Is.True);
    }

    [Test]
    public void CorruptStateIsReportedWithItsPath()
    {
        File.WriteAllText(Path.Combine(Latest, "checkpoint.json"), "{ not json");
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Open(_run))!;
        Assert.That(e.Message, Does.StartWith($"{Latest}: checkpoint.json cannot be read"));
    }

    [Test]
    public void UnsortedVocabularyIsReportedWithItsPath()
    {
        string path = Path.Combine(Latest, "checkpoint.json");
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"vocabulary\":[10,32,", "\"vocabulary\":[32,10,"));
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Open(_run))!;
        Assert.That(e.Message, Does.StartWith($"{Latest}: checkpoint.json holds an invalid vocabulary"));
    }

    [Test]
    public void TruncatedWeightsAreReportedWithTheirPath()
    {
        string model = Path.Combine(Latest, "model.bin");
        File.WriteAllBytes(model, File.ReadAllBytes(model)[..200]);
        var e = Assert.Throws<CheckpointException>(() => TrainingRun.Resume(_run, resetOptimizer: false))!;
        Assert.That(e.Message, Does.StartWith($"{model}: cannot be loaded"));
    }

    [Test]
    public void ChangedCorpusIsRefusedOnResume()
    {
        File.AppendAllText(Config.Corpus, "the cat sat.");
        var e = Assert.Throws<CorpusException>(() => TrainingRun.Resume(_run, resetOptimizer: false))!;
        Assert.That(e.Message, Does.Contain("changed since the checkpoint was written"));
    }

    // A real mid-checkpoint failure: the child's file-size limit (which binds root too) makes a write fail with
    // EFBIG; SIGXFSZ is ignored so the write returns an error instead of killing the process, and W^X is off
    // because the runtime's double-mapped code pages are files under the same limit.
    private static ChildProcess.Result UnderFileSizeLimit(long bytes, params string[] args) => TrainerProcess.Run(
        args,
        shellSetup: $"trap '' XFSZ; ulimit -f {bytes / 1024}",
        environment: new Dictionary<string, string> { ["DOTNET_EnableWriteXorExecute"] = "0" });

    [Test]
    [Platform("Linux")]
    public void FailedCheckpointWriteKeepsThePreviousOneAndLeavesNoTemporaryDirectory()
    {
        byte[] before = File.ReadAllBytes(Path.Combine(Latest, "optimizer.bin"));
        long model = new FileInfo(Path.Combine(Latest, "model.bin")).Length;
        Assert.That(before.Length, Is.GreaterThan(model + 2048), "Adam's two moments make its file about twice the weights");

        // Room for the weights but not for Adam's state: the write fails in the middle of the checkpoint.
        var result = UnderFileSizeLimit((model + before.Length) / 2, "resume", _run, "--steps", "10");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(1), result.Error);
            Assert.That(result.Error, Does.StartWith($"{Latest}: cannot write checkpoint: "));
            Assert.That(result.Error, Does.Not.Contain("   at "));
            Assert.That(Entries(), Is.EqualTo(new[] { RunLock.FileName, "checkpoint", LossPlot.FileName, "metrics.jsonl" }));
            Assert.That(Checkpoint.Open(_run).State.Step, Is.EqualTo(10));
            Assert.That(File.ReadAllBytes(Path.Combine(Latest, "optimizer.bin")), Is.EqualTo(before));
        }
        ResumeTo(20);
        Assert.That(Checkpoint.Open(_run).State.Step, Is.EqualTo(20), "the kept checkpoint still resumes");
    }

    [Test]
    [Platform("Linux")]
    public void FailedFirstCheckpointLeavesNoRunDirectory()
    {
        string fresh = Sandbox.PathOf("fresh");
        long model = new FileInfo(Path.Combine(Latest, "model.bin")).Length;
        var result = UnderFileSizeLimit(model / 2, "train", "--corpus", Config.Corpus, "--out", fresh,
            "--hidden", "16", "--embedding", "8", "--batch", "4", "--seq-len", "16", "--steps", "5");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(1), result.Error);
            Assert.That(result.Error, Does.Contain("cannot write checkpoint"));
            Assert.That(Directory.Exists(fresh), Is.False);
        }
    }
}
