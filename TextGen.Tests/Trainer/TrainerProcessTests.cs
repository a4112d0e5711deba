using System.Diagnostics;
using System.Text;
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

    private string[] Train(string directory, int steps) =>
    [
        "train", "--corpus", _corpus, "--out", directory, "--hidden", "16", "--embedding", "8", "--batch", "4", "--seq-len", "16",
        "--dropout", "0.2", "--schedule", "step", "--decay-every", "15", "--lr", "0.01", "--steps", steps.ToString(),
        "--eval-every", "10", "--checkpoint-every", "10", "--seed", "5", "--threads", "1",
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

    // Ctrl+C is SIGINT; SIGTERM is what a service manager or `kill` sends first. Both must end with a checkpoint.
    [TestCase("INT")]
    [TestCase("TERM")]
    [Platform("Linux")]
    public void StopSignalWritesACheckpointAndExitsCleanly(string signal)
    {
        string directory = _sandbox.PathOf("interrupted");
        using var process = TrainerProcess.Start(Train(directory, 100_000));
        var error = process.StandardError.ReadToEndAsync();
        var seen = new StringBuilder();
        while (process.StandardOutput.ReadLine() is string line)
        {
            seen.AppendLine(line);
            if (Regex.Match(line, @"^step\s+(\d+) \| loss") is { Success: true } m && int.Parse(m.Groups[1].Value) >= 6)
            {
                using var kill = Process.Start("kill", $"-{signal} {process.Id}");
                kill.WaitForExit();
                break;
            }
        }
        var result = TrainerProcess.Finish(process, process.StandardOutput.ReadToEndAsync(), error);
        var stopped = Regex.Match(result.Output, @"interrupted at step (\d+); checkpoint written, continue with: resume ");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.Zero, result.Error);
            Assert.That(stopped.Success, Is.True, seen + result.Output);
            Assert.That(Checkpoint.Open(directory).State.Step, Is.EqualTo(long.Parse(stopped.Groups[1].Value)).And.GreaterThanOrEqualTo(6));
            Assert.That(Directory.GetDirectories(directory).Select(Path.GetFileName), Is.EqualTo(new[] { Checkpoint.LatestName }));
        }
        using var resumed = TextGen.Trainer.Training.TrainingRun.Resume(directory, resetOptimizer: false);
        Assert.That(resumed.Step, Is.EqualTo(long.Parse(stopped.Groups[1].Value)));
    }
}
