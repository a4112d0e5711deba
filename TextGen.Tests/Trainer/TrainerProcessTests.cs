using System.Diagnostics;
using System.Text.RegularExpressions;
using TextGen.Runtime.Format;
using TextGen.Trainer.Checkpoints;

namespace TextGen.Tests.Trainer;

/// <summary>The trainer as users run it: separate processes, so nothing survives between train and resume but files.</summary>
public sealed class TrainerProcessTests
{
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

    private string[] Train(string directory, int steps, int threads = 1) =>
    [
        "train", "--corpus", _corpus, "--out", directory, "--hidden", "16", "--embedding", "8", "--batch", "4", "--seq-len", "16",
        "--dropout", "0.2", "--schedule", "step", "--decay-every", "15", "--lr", "0.01", "--steps", steps.ToString(),
        "--eval-every", "10", "--checkpoint-every", "10", "--seed", "5", "--threads", threads.ToString(),
    ];

    [Test]
    public void TrainStopResumeInSeparateProcessesEqualsOneRun()
    {
        string straight = _sandbox.PathOf("straight"), split = _sandbox.PathOf("split");
        var whole = TrainerProcess.Run(Train(straight, 40));
        var first = TrainerProcess.Run(Train(split, 20));
        var second = TrainerProcess.Run(["resume", split, "--steps", "20"]);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((whole.ExitCode, first.ExitCode, second.ExitCode), Is.EqualTo((0, 0, 0)), whole.Error + first.Error + second.Error);
            Assert.That(second.Output, Does.Contain($"resuming {split} at step 20"));
            foreach (var file in new[] { "model.bin", "optimizer.bin", "hidden.bin", "rng.bin" })
            {
                Assert.That(
                    File.ReadAllBytes(Path.Combine(split, Checkpoint.LatestName, file)),
                    Is.EqualTo(File.ReadAllBytes(Path.Combine(straight, Checkpoint.LatestName, file))), file);
            }
            var a = ModelFile.ReadFile(Path.Combine(straight, "model.tgm"));
            var b = ModelFile.ReadFile(Path.Combine(split, "model.tgm"));
            Assert.That(b.Tensors.Select(t => t.Data.ToArray()), Is.EqualTo(a.Tensors.Select(t => t.Data.ToArray())));
            Assert.That(b.Metadata["steps"].Number, Is.EqualTo(40));
        }
    }

    [Test]
    public void ResumeFindsTheCorpusFromAnyDirectoryAndTakesAMovedOneWithCorpus()
    {
        string home = _sandbox.PathOf("home"), moved = _sandbox.PathOf("moved");
        Directory.CreateDirectory(home);
        Directory.CreateDirectory(moved);
        File.Copy(_corpus, Path.Combine(home, "lore.txt"));
        string run = Path.Combine(home, "run");
        string[] train = Train("run", 20);
        train[Array.IndexOf(train, "--corpus") + 1] = "lore.txt";

        var trained = TrainerProcess.Run(train, shellSetup: $"cd '{home}'");
        var elsewhere = TrainerProcess.Run(["resume", run, "--steps", "10"], shellSetup: "cd /");
        File.Move(Path.Combine(home, "lore.txt"), Path.Combine(moved, "lore.txt"));
        var missing = TrainerProcess.Run(["resume", run, "--steps", "10"]);
        var found = TrainerProcess.Run(["resume", run, "--steps", "10", "--corpus", Path.Combine(moved, "lore.txt")]);
        var recorded = TrainerProcess.Run(["resume", run, "--steps", "5"], shellSetup: "cd /");
        string other = _sandbox.WriteCorpus("other.txt", seed: 8);
        var changed = TrainerProcess.Run(["resume", run, "--steps", "5", "--corpus", other]);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((trained.ExitCode, elsewhere.ExitCode, found.ExitCode, recorded.ExitCode), Is.EqualTo((0, 0, 0, 0)), trained.Error + elsewhere.Error + found.Error + recorded.Error);
            Assert.That(missing.ExitCode, Is.EqualTo(1));
            Assert.That(missing.Error.TrimEnd(), Is.EqualTo($"{Path.Combine(home, "lore.txt")}: no such file: the run in {run} trained on it; if it has moved, give its new place with resume --corpus FILE"));
            Assert.That(changed.ExitCode, Is.EqualTo(1));
            Assert.That(changed.Error, Does.Contain($"{other}: changed since the checkpoint was written"));
            Assert.That(Checkpoint.Open(run).State.Step, Is.EqualTo(45));
        }
    }

    /// <summary>
    /// The stop signals must be taken by the runtime's signal thread, never by a thread inside libtorch's kernels
    /// (StopSignalMask): read from /proc while the trainer trains on two threads, then stopped by SIGINT.
    /// </summary>
    [Test]
    [Platform("Linux")]
    public void StopSignalsAreBlockedOnEveryTrainingThreadAndTakenByTheRuntimesSignalThread()
    {
        const ulong stopSignals = (1UL << (2 - 1)) | (1UL << (15 - 1)); // SIGINT and SIGTERM in /proc's SigBlk mask
        string directory = _sandbox.PathOf("masked");
        using var process = TrainerProcess.Start(Train(directory, 100_000, threads: 2));
        var error = process.StandardError.ReadToEndAsync();
        WaitForStep(process, 6);
        var threads = Directory.GetDirectories($"/proc/{process.Id}/task").Select(task => (
            Id: int.Parse(Path.GetFileName(task)),
            Name: File.ReadAllText(Path.Combine(task, "comm")).Trim(),
            Blocked: Convert.ToUInt64(File.ReadLines(Path.Combine(task, "status")).Single(l => l.StartsWith("SigBlk:")).Split('\t')[1], 16))).ToList();
        Interrupt(process, "INT");
        var result = TrainerProcess.Finish(process, process.StandardOutput.ReadToEndAsync(), error);

        var training = threads.Where(t => !t.Name.StartsWith(".NET", StringComparison.Ordinal)).ToList();
        string shown = string.Join(", ", threads.Select(t => $"{t.Id} '{t.Name}' {t.Blocked:x}"));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(training.Select(t => t.Id), Does.Contain(process.Id), shown);
            Assert.That(training, Has.Count.GreaterThanOrEqualTo(2), "no libtorch worker thread was found: " + shown);
            Assert.That(training.Where(t => (t.Blocked & stopSignals) != stopSignals), Is.Empty, shown);
            Assert.That(threads.Single(t => t.Name == ".NET SigHandler").Blocked & stopSignals, Is.Zero, shown);
            Assert.That(result.ExitCode, Is.Zero, result.Error);
            Assert.That(result.Output, Does.Contain("checkpoint written"));
        }
    }

    private static void WaitForStep(Process process, int step)
    {
        while (process.StandardOutput.ReadLine() is string line)
        {
            if (Regex.Match(line, @"^step\s+(\d+) \| loss") is { Success: true } m && int.Parse(m.Groups[1].Value) >= step) return;
        }
        Assert.Fail("the trainer ended before printing a step");
    }

    private static void Interrupt(Process process, string signal)
    {
        using var kill = Process.Start("kill", $"-{signal} {process.Id}");
        kill.WaitForExit();
    }

    // Ctrl+C is SIGINT; SIGTERM is what a service manager or `kill` sends first. Both must end with a checkpoint.
    [TestCase("INT")]
    [TestCase("TERM")]
    [Platform("Linux")]
    public void StopSignalWritesACheckpointAndExitsCleanly(string signal)
    {
        string directory = _sandbox.PathOf("interrupted");
        using var process = TrainerProcess.Start(Train(directory, 100_000));
        var error = process.StandardError.ReadToEndAsync();
        WaitForStep(process, 6);
        Interrupt(process, signal);
        var result = TrainerProcess.Finish(process, process.StandardOutput.ReadToEndAsync(), error);
        var stopped = Regex.Match(result.Output, @"interrupted at step (\d+); checkpoint written, continue with: resume ");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.Zero, result.Error);
            Assert.That(stopped.Success, Is.True, result.Output);
            Assert.That(Checkpoint.Open(directory).State.Step, Is.EqualTo(long.Parse(stopped.Groups[1].Value)).And.GreaterThanOrEqualTo(6));
            Assert.That(Directory.GetDirectories(directory).Select(Path.GetFileName), Is.EqualTo(new[] { Checkpoint.LatestName }));
        }
        using var resumed = TextGen.Trainer.Training.TrainingRun.Resume(directory, resetOptimizer: false);
        Assert.That(resumed.Step, Is.EqualTo(long.Parse(stopped.Groups[1].Value)));
    }
}
