using TextGen.Trainer.Checkpoints;
using TextGen.Trainer.Cli;
using static TextGen.Tests.Trainer.TrainerCommand;

namespace TextGen.Tests.Trainer;

/// <summary>
/// A run on a disk that fills up or turns read-only: the error names the path and the cause, exits with 1, and the
/// previous checkpoint stays as it was and resumes once the disk is usable again.
/// </summary>
[Platform("Linux")]
public sealed class FullAndReadOnlyDiskTests
{
    private TrainingSandbox _sandbox = null!;
    private Tmpfs _disk = null!;
    private string _corpus = null!;
    private string _run = null!;
    private string Latest => Path.Combine(_run, Checkpoint.LatestName);

    [SetUp]
    public void SetUp()
    {
        _sandbox = new TrainingSandbox();
        _corpus = _sandbox.WriteCorpus();
        _disk = new Tmpfs(_sandbox.PathOf("disk"), 1024 * 1024);
        _run = _disk.PathOf("run");
        var trained = Run(Train(_run, steps: 10));
        Assert.That(trained.ExitCode, Is.Zero, trained.Error);
    }

    [TearDown]
    public void TearDown()
    {
        _disk.Dispose();
        _sandbox.Dispose();
    }

    private string[] Train(string directory, int steps) =>
    [
        "train", "--corpus", _corpus, "--out", directory, "--hidden", "16", "--embedding", "8", "--batch", "4", "--seq-len", "16",
        "--steps", steps.ToString(), "--eval-every", "10", "--checkpoint-every", "10", "--threads", "1",
    ];

    private byte[] Optimizer() => File.ReadAllBytes(Path.Combine(Latest, "optimizer.bin"));

    private void AssertResumesFromStep10()
    {
        var resumed = Run("resume", _run, "--steps", "10");
        Assert.That(resumed.ExitCode, Is.Zero, resumed.Error);
        Assert.That(Checkpoint.Open(_run).State.Step, Is.EqualTo(20), "the kept checkpoint resumes");
    }

    [Test]
    public void FullDiskDuringACheckpointNamesItAndKeepsThePreviousCheckpoint()
    {
        byte[] before = Optimizer();
        // Room for a new checkpoint's weights but not for Adam's moments, which are twice their size.
        _disk.FillLeaving(before.Length / 2);

        var result = Run("resume", _run, "--steps", "10");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(TrainerCommandLine.Failure));
            Assert.That(result.Error, Does.StartWith($"{Latest}: cannot write checkpoint: the disk is full (No space left on device : '{Latest}.tmp/"));
            Assert.That(result.Error, Does.Not.Contain("   at "));
            Assert.That(Directory.Exists(Latest + ".tmp"), Is.False, "the half-written checkpoint is removed");
            Assert.That(Checkpoint.Open(_run).State.Step, Is.EqualTo(10));
            Assert.That(Optimizer(), Is.EqualTo(before));
        }
        _disk.Free();
        AssertResumesFromStep10();
    }

    [Test]
    public void FullDiskDuringExportLeavesNoFile()
    {
        string model = _disk.PathOf("model.tgm");
        _disk.FillLeaving(4096);

        var result = Run("export", _run, "--out", model);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(TrainerCommandLine.Failure));
            Assert.That(result.Error, Does.StartWith($"{model}: cannot write: the disk is full (No space left on device"));
            Assert.That(Directory.GetFiles(_disk.Root).Select(Path.GetFileName), Has.None.Contain("model.tgm"), "no file and no temporary file");
        }
    }

    [Test]
    public void ReadOnlyDiskNamesThePathForEveryWriteAndKeepsTheCheckpoint()
    {
        byte[] before = Optimizer();
        string fresh = _disk.PathOf("fresh"), model = _disk.PathOf("model.tgm");
        _disk.SetReadOnly(true);

        var resume = Run("resume", _run, "--steps", "10");
        var train = Run(Train(fresh, steps: 10));
        var export = Run("export", _run, "--out", model);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((resume.ExitCode, train.ExitCode, export.ExitCode), Is.EqualTo((1, 1, 1)));
            // A resume first rewrites metrics.jsonl without the lines after its checkpoint.
            Assert.That(resume.Error, Does.StartWith($"the file system is read-only (Read-only file system : '{_run}/metrics.jsonl"));
            Assert.That(train.Error, Does.StartWith($"the file system is read-only (Read-only file system : '{fresh}'"));
            Assert.That(export.Error, Does.StartWith($"{model}: cannot write: the file system is read-only"));
            Assert.That(new[] { resume.Error, train.Error, export.Error }, Has.None.Contain("   at "));
            // What the kernel guarantees on a read-only mount (no file created or changed) is not asserted; what the
            // trainer decides is: the resume stopped at its first failed write, before a step was trained.
            Assert.That(resume.Output, Is.Empty);
        }
        _disk.SetReadOnly(false);
        AssertResumesFromStep10();
    }
}
