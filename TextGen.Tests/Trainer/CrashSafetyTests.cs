using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using TextGen.Runtime.Format;
using TextGen.Trainer.Checkpoints;
using TextGen.Trainer.Cli;
using TextGen.Trainer.Plots;
using TextGen.Trainer.Training;

namespace TextGen.Tests.Trainer;

/// <summary>
/// SIGKILL at any moment, including in the middle of a checkpoint write, leaves a run that loads and resumes:
/// the promise of the NAME.tmp / NAME.old renames, tested against the real process rather than staged directories.
/// </summary>
[Platform("Linux")]
public sealed class CrashSafetyTests
{
    private const int Kills = 20;

    // A checkpoint every step and a validation (with a metrics line and, with --keep-best, often a best/ write)
    // every fifth, so most of the child's time is spent writing files and a random kill often lands in a write.
    private static string[] Train(string corpus, string directory) =>
    [
        "train", "--corpus", corpus, "--out", directory, "--hidden", "16", "--embedding", "8", "--batch", "4", "--seq-len", "16",
        "--schedule", "constant", "--lr", "0.01", "--steps", "1000000", "--eval-every", "5", "--checkpoint-every", "1",
        "--keep-best", "--seed", "5", "--threads", "1",
    ];

    [Test]
    public void SigkillAtTwentyMomentsAlwaysLeavesACheckpointThatLoadsAndResumes()
    {
        using var sandbox = new TrainingSandbox();
        string corpus = sandbox.WriteCorpus(), directory = sandbox.PathOf("run");
        string[] writeLeftovers = [Checkpoint.LatestName + ".tmp", Checkpoint.LatestName + ".old", Checkpoint.BestName + ".tmp", Checkpoint.BestName + ".old"];
        string[] atomicFiles = [LossPlot.FileName, TrainingRun.ModelFileName];
        var moments = new Random(20261125);
        var hits = new List<string>();
        long step = 0;

        for (int kill = 0; kill < Kills; kill++)
        {
            // Every other kill waits for the next checkpoint.tmp to appear and strikes inside that write, at a
            // random point of its ~25 ms (files, flushes, renames); the others strike at any random moment.
            bool aimAtWrite = kill % 2 == 0;
            var delay = TimeSpan.FromMilliseconds(moments.Next(0, 200));
            var intoWrite = TimeSpan.FromMilliseconds(moments.NextDouble() * 5);

            using var process = TrainerProcess.Start(kill == 0 ? Train(corpus, directory) : ["resume", directory]);
            var error = process.StandardError.ReadToEndAsync();
            // The first step line means the run's (or the resume's) starting checkpoint is complete.
            while (process.StandardOutput.ReadLine() is string line && !Regex.IsMatch(line, @"^step\s+\d+ \| loss"))
            {
            }
            var output = process.StandardOutput.ReadToEndAsync();
            Thread.Sleep(delay);
            if (aimAtWrite)
            {
                string temp = Path.Combine(directory, Checkpoint.LatestName + ".tmp");
                Assert.That(SpinWait.SpinUntil(() => Directory.Exists(temp) || process.HasExited, TimeSpan.FromSeconds(30)), Is.True, "no checkpoint write began");
                var inside = Stopwatch.StartNew();
                while (inside.Elapsed < intoWrite)
                {
                }
            }
            bool running = !process.HasExited;
            if (running) process.Kill(); // SIGKILL on Unix: no handler, no finally block, no flush runs
            var killed = TrainerProcess.Finish(process, output, error);
            Assert.That((running, killed.ExitCode), Is.EqualTo((true, 128 + 9)), $"kill {kill}: the trainer ended by itself: {killed.Error}");

            string[] left = writeLeftovers.Where(name => Directory.Exists(Path.Combine(directory, name)))
                .Concat(atomicFiles.SelectMany(name => ModelFileStorage.TemporariesOf(Path.Combine(directory, name))).Select(Path.GetFileName).OfType<string>())
                .ToArray();
            if (left.Length > 0) hits.Add($"kill {kill}: {string.Join(", ", left)}");

            long saved = Checkpoint.Open(directory).State.Step;
            Assert.That(saved, Is.GreaterThanOrEqualTo(step), $"kill {kill}: a checkpoint went backwards");
            var resumed = TrainerCommand.Run("resume", directory, "--steps", "2");
            step = Checkpoint.Open(directory).State.Step;
            using (Assert.EnterMultipleScope())
            {
                Assert.That(resumed.ExitCode, Is.EqualTo(TrainerCommandLine.Ok), $"kill {kill} ({string.Join(", ", left)}): {resumed.Error}");
                Assert.That(resumed.Output, Does.Contain($"resuming {directory} at step {saved}"));
                Assert.That(step, Is.EqualTo(saved + 2), "resume continued from the checkpoint it found");
            }
        }

        TestContext.Out.WriteLine($"{hits.Count} of {Kills} kills landed in a write:{Environment.NewLine}{string.Join(Environment.NewLine, hits)}");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(hits, Has.Count.GreaterThanOrEqualTo(3), "kills that left a write's temporary or old file or directory behind");
            Assert.That(Directory.GetFileSystemEntries(directory).Select(Path.GetFileName).Order(),
                Is.EqualTo(new[] { RunLock.FileName, Checkpoint.BestName, Checkpoint.LatestName, LossPlot.FileName, MetricsLog.FileName, TrainingRun.ModelFileName }), "each resume cleaned up what a kill left");
            Assert.That(MetricSteps(directory), Is.Ordered.Ascending.And.Unique, "metrics.jsonl: no torn or repeated lines");
        }
    }

    [Test]
    public void ResumeOfARunThatAnotherProcessIsTrainingIsRefusedAndChangesNothing()
    {
        using var sandbox = new TrainingSandbox();
        string corpus = sandbox.WriteCorpus(), directory = sandbox.PathOf("run");
        using var process = TrainerProcess.Start(Train(corpus, directory));
        var error = process.StandardError.ReadToEndAsync();
        while (process.StandardOutput.ReadLine() is string line && !Regex.IsMatch(line, @"^step\s+\d+ \| loss"))
        {
        }
        var output = process.StandardOutput.ReadToEndAsync();
        // The trainer's own writes go on, so "changes nothing" is checked on what only a resume would touch: the
        // metrics it truncates and a leftover temporary it would delete.
        string leftover = Path.Combine(directory, $".{LossPlot.FileName}.{Guid.NewGuid():N}.tmp");
        File.WriteAllText(leftover, "left by a write the trainer has not finished");

        var refused = TrainerCommand.Run("resume", directory, "--steps", "2");
        bool leftoverKept = File.Exists(leftover);
        bool running = !process.HasExited;
        process.Kill();
        TrainerProcess.Finish(process, output, error);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(running, Is.True, "the trainer was still training when resume ran");
            Assert.That(refused.ExitCode, Is.EqualTo(TrainerCommandLine.Failure));
            Assert.That(refused.Error.Trim(), Is.EqualTo($"{directory}: another process is training this run ({RunLock.FileName} is locked); wait for it to finish or stop it, then resume"));
            Assert.That(refused.Output, Does.Not.Contain("resuming"));
            Assert.That(leftoverKept, Is.True, "the refused resume deleted nothing");
        }

        // The kill released the lock: the run resumes.
        var resumed = TrainerCommand.Run("resume", directory, "--steps", "2");
        Assert.That(resumed.ExitCode, Is.EqualTo(TrainerCommandLine.Ok), resumed.Error);
    }

    private static IEnumerable<long> MetricSteps(string directory) =>
        File.ReadAllLines(Path.Combine(directory, MetricsLog.FileName)).Select(line => JsonDocument.Parse(line).RootElement.GetProperty("step").GetInt64());
}
