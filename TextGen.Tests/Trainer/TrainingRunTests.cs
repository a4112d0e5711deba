using TextGen.Tests.Support;
using TextGen.Trainer.Checkpoints;
using TextGen.Trainer.Data;
using TextGen.Trainer.Model;
using TextGen.Trainer.Plots;
using TextGen.Trainer.Training;
using TorchSharp;
using TorchSharp.Modules;

namespace TextGen.Tests.Trainer;

public sealed class TrainingRunTests : TinyTrainingFixture
{
    private static long[] AdamStepCounts(TrainingRun run) =>
        run.Optimizer.state_dict().State.Cast<Adam.State>().Select(s => s.step).ToArray();

    private string Straight(TrainingConfig config, long steps)
    {
        using var run = TrainingRun.Start(config, Corpus.Load(config.Corpus), Sandbox.PathOf("straight"));
        Assert.That(TrainingSandbox.TrainUntil(run, steps).End, Is.EqualTo(TrainingEnd.Completed));
        return TrainingSandbox.Checksum(run.Model);
    }

    [Test]
    public void ResumeIsBitIdenticalToAnUninterruptedRun()
    {
        string straight = Straight(Config, 40);

        string split = Sandbox.PathOf("split");
        string halfway;
        using (var first = TrainingRun.Start(Config, Corpus.Load(Config.Corpus), split))
        {
            TrainingSandbox.TrainUntil(first, 20);
            halfway = TrainingSandbox.Checksum(first.Model);
        }
        using var resumed = TrainingRun.Resume(split, resetOptimizer: false);
        Assert.That(resumed.Step, Is.EqualTo(20));
        TrainingSandbox.TrainUntil(resumed, 40);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(TrainingSandbox.Checksum(resumed.Model), Is.EqualTo(straight));
            Assert.That(halfway, Is.Not.EqualTo(straight));
            foreach (var file in new[] { "model.bin", "optimizer.bin", "hidden.bin", "rng.bin" })
            {
                Assert.That(CheckpointFile(split, file), Is.EqualTo(CheckpointFile(Sandbox.PathOf("straight"), file)), file);
            }
        }
    }

    [Test]
    public void InterruptWritesACheckpointThatResumesBitIdentically()
    {
        string straight = Straight(Config, 40);

        string run = Sandbox.PathOf("interrupted");
        using var cancel = new CancellationTokenSource();
        using (var first = TrainingRun.Start(Config, Corpus.Load(Config.Corpus), run))
        {
            var outcome = TrainingSandbox.TrainUntil(first, 40, new RecordingReporter(r => { if (r.Step == 13) cancel.Cancel(); }), cancel.Token);
            Assert.That(outcome.End, Is.EqualTo(TrainingEnd.Interrupted));
            Assert.That(outcome.Step, Is.EqualTo(13));
        }
        Assert.That(Checkpoint.Open(run).State.Step, Is.EqualTo(13));

        using var resumed = TrainingRun.Resume(run, resetOptimizer: false);
        TrainingSandbox.TrainUntil(resumed, 40);
        Assert.That(TrainingSandbox.Checksum(resumed.Model), Is.EqualTo(straight));
    }

    [Test]
    public void AdamIsConstructedOnceAndRestoredOnResume()
    {
        string directory = Sandbox.PathOf("adam");
        using (var run = TrainingRun.Start(Config, Corpus.Load(Config.Corpus), directory))
        {
            var optimizer = run.Optimizer;
            TrainingSandbox.TrainUntil(run, 25);
            using (Assert.EnterMultipleScope())
            {
                // Adam counts its own updates per parameter; 25 everywhere means one optimizer saw every step.
                Assert.That(AdamStepCounts(run), Has.Length.EqualTo(run.Model.parameters().Count()).And.All.EqualTo(25));
                Assert.That(run.Optimizer, Is.SameAs(optimizer));
            }
        }
        using (var resumed = TrainingRun.Resume(directory, resetOptimizer: false))
        {
            Assert.That(AdamStepCounts(resumed), Is.Not.Empty.And.All.EqualTo(25), "restored, not re-created");
            TrainingSandbox.TrainUntil(resumed, 40);
            Assert.That(AdamStepCounts(resumed), Is.Not.Empty.And.All.EqualTo(40));
        }
        using (var reset = TrainingRun.Resume(directory, resetOptimizer: true))
        {
            TrainingSandbox.TrainUntil(reset, 45);
            Assert.That(AdamStepCounts(reset), Is.Not.Empty.And.All.EqualTo(5), "the blog's mistake: a fresh Adam starts counting (and bias-correcting) from zero");
        }
    }

    [Test]
    public void ResetOptimizerGivesDifferentAndWorseWeights()
    {
        var config = Config with { Steps = 200, Schedule = ScheduleKind.Constant, Lr = 0.02, Dropout = 0, EvalEvery = 1000, CheckpointEvery = 1000 };
        string directory = Sandbox.PathOf("reset");
        using (var run = TrainingRun.Start(config, Corpus.Load(config.Corpus), directory))
        {
            TrainingSandbox.TrainUntil(run, 150);
        }

        (string Checksum, double ValLoss) Continue(bool resetOptimizer)
        {
            string copy = Sandbox.PathOf(resetOptimizer ? "reset-fresh" : "reset-restored");
            Directories.CopyFiles(Path.Combine(directory, Checkpoint.LatestName), Path.Combine(copy, Checkpoint.LatestName));
            using var run = TrainingRun.Resume(copy, resetOptimizer);
            TrainingSandbox.TrainUntil(run, 155);
            var data = TrainingData.Split(Corpus.Load(config.Corpus), config.ValFraction, config.Batch, config.SeqLen);
            return (TrainingSandbox.Checksum(run.Model), Validation.Loss(run.Model, data.Validation, config.Batch, config.SeqLen));
        }

        var restored = Continue(resetOptimizer: false);
        var reset = Continue(resetOptimizer: true);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(reset.Checksum, Is.Not.EqualTo(restored.Checksum));
            // A fresh Adam's first updates have size ≈ lr for every weight (m/√v = ±1 after bias correction),
            // a jolt to a trained model that the restored moments would not give.
            Assert.That(reset.ValLoss, Is.GreaterThan(restored.ValLoss + 0.01), $"reset {reset.ValLoss:F4} vs restored {restored.ValLoss:F4}");
        }
    }

    [Test]
    public void EachStepStartsFromTheStateThePreviousStepEndedWith()
    {
        // Two characters per chunk: short enough that the carried state still shows at the chunk's end.
        var config = Config with { Dropout = 0, SeqLen = 2 };
        string directory = Sandbox.PathOf("carry");
        string afterOne = Sandbox.PathOf("after-one");
        using (var run = TrainingRun.Start(config, Corpus.Load(config.Corpus), directory))
        {
            TrainingSandbox.TrainUntil(run, 1);
            Directories.CopyFiles(Path.Combine(directory, Checkpoint.LatestName), afterOne);
            TrainingSandbox.TrainUntil(run, 2);
        }

        // Replay step 2's forward pass from the step-1 checkpoint: its weights, its carried state, its cursor.
        var one = Checkpoint.Open(afterOne);
        var data = TrainingData.Split(Corpus.Load(config.Corpus), config.ValFraction, config.Batch, config.SeqLen);
        using var model = new CharModel(new(config.Arch, config.Layers, config.Hidden, config.Embedding, one.State.Vocabulary), 0);
        one.LoadModel(model);
        var batch = new TruncatedBpttBatches(data.Training, config.Batch, config.SeqLen, one.State.Cursor).Next();
        using var noGrad = torch.no_grad();
        var (_, carried) = model.forward(batch.Inputs, one.LoadHidden(model, config.Batch));
        var (_, fromZero) = model.forward(batch.Inputs, model.ZeroState(config.Batch));
        using var saved = Checkpoint.Open(directory).LoadHidden(model, config.Batch);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(batch.StartsEpoch, Is.False);
            Assert.That(saved.H.allclose(carried.H, rtol: 0, atol: 1e-6), Is.True);
            Assert.That(saved.C!.allclose(carried.C!, rtol: 0, atol: 1e-6), Is.True);
            Assert.That(saved.H.allclose(fromZero.H, rtol: 0, atol: 1e-3), Is.False, "starting from zeros must differ, or this proves nothing");
        }
    }

    [Test]
    public void DivergenceGuardStopsATenLearningRateAndNamesIt()
    {
        var config = Config with { Lr = 10, Schedule = ScheduleKind.Constant, Steps = 60 };
        string directory = Sandbox.PathOf("lr10");
        using var run = TrainingRun.Start(config, Corpus.Load(config.Corpus), directory);
        var outcome = TrainingSandbox.TrainUntil(run, 60);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(outcome.End, Is.EqualTo(TrainingEnd.Diverged));
            Assert.That(outcome.Message, Does.Contain("diverged").And.Contain("The learning rate (10) is the likely cause").And.Contain("--lr 1"));
            Assert.That(outcome.Step, Is.LessThan(60));
            Assert.That(Checkpoint.Open(directory).State.Step, Is.LessThanOrEqualTo(outcome.Step), "the diverged weights are not checkpointed");
        }
    }

    [Test]
    public void DivergenceGuardStaysQuietAtAGoodLearningRate()
    {
        var config = Config with { Steps = 120, EvalEvery = 40 };
        using var run = TrainingRun.Start(config, Corpus.Load(config.Corpus), Sandbox.PathOf("good"));
        var reporter = new RecordingReporter();
        var outcome = TrainingSandbox.TrainUntil(run, 120, reporter);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(outcome.End, Is.EqualTo(TrainingEnd.Completed));
            Assert.That(reporter.Notes, Is.Empty);
            Assert.That(reporter.Evaluations[^1].ValLoss, Is.LessThan(reporter.Evaluations[0].ValLoss));
        }
    }

    [Test]
    public void RollbackReloadsTheLastCheckpointAndHalvesTheRate()
    {
        var config = Config with { Lr = 10, Schedule = ScheduleKind.Constant, Steps = 60, OnDivergence = DivergenceAction.Rollback };
        string directory = Sandbox.PathOf("rollback");
        using var run = TrainingRun.Start(config, Corpus.Load(config.Corpus), directory);
        var reporter = new RecordingReporter();
        var outcome = TrainingSandbox.TrainUntil(run, 60, reporter);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(reporter.Notes, Is.Not.Empty);
            Assert.That(reporter.Notes[0], Does.Contain("at learning rate 10; rolled back to step 0 and halved the rate (now 0.5 × schedule)"));
            Assert.That(outcome.End, Is.EqualTo(TrainingEnd.Completed), "some halving of 10 trains this tiny model");
            double scale = Math.Pow(0.5, reporter.Notes.Count);
            Assert.That(reporter.Steps[^1].Lr, Is.EqualTo(10 * scale));
            Assert.That(Checkpoint.Open(directory).State.LrScale, Is.EqualTo(scale));
            Assert.That(Checkpoint.Open(directory).State.Rollbacks, Is.EqualTo(reporter.Notes.Count));
        }
    }

    [Test]
    public void ADivergenceAtTheSameStepAfterEveryRollbackBlamesTheText()
    {
        // One phrase until the model has it, then a stretch of random CJK characters: with one stream the run reaches
        // the noise at the same step after every rollback, whatever the rate.
        var random = new Random(0);
        string noise = new(Enumerable.Range(0, 600).Select(_ => (char)(0x4E00 + random.Next(60))).ToArray());
        string phrase = string.Concat(Enumerable.Repeat("the cat sat on the mat. ", 200));
        string corpus = Sandbox.WriteBytes("spiked.txt", System.Text.Encoding.UTF8.GetBytes(phrase + noise + phrase[..1200]));
        var config = Config with
        {
            Corpus = corpus, Layers = 1, Batch = 1, Dropout = 0, Schedule = ScheduleKind.Constant, Steps = 400,
            EvalEvery = 50, CheckpointEvery = 100, OnDivergence = DivergenceAction.Rollback,
        };
        using var run = TrainingRun.Start(config, Corpus.Load(corpus), Sandbox.PathOf("spiked"));
        var reporter = new RecordingReporter();

        var outcome = TrainingSandbox.TrainUntil(run, 400, reporter);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(outcome.End, Is.EqualTo(TrainingEnd.Diverged));
            Assert.That(reporter.Notes, Has.Count.EqualTo(8).And.All.StartWith($"step {outcome.Step + 1}: "));
            Assert.That(outcome.Message, Does.Contain($"It diverged at this same step after each of 8 rollbacks"));
            Assert.That(outcome.Message, Does.Contain("the text the run reads at that step, not the rate, is the likely cause"));
        }
    }

    [Test]
    public void MetricsHaveOneJsonLinePerEvaluation()
    {
        string directory = Sandbox.PathOf("metrics");
        using var run = TrainingRun.Start(Config, Corpus.Load(Config.Corpus), directory);
        TrainingSandbox.TrainUntil(run, 40);
        var lines = File.ReadAllLines(Path.Combine(directory, MetricsLog.FileName));
        var records = lines.Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(records.Select(r => r.GetProperty("step").GetInt64()), Is.EqualTo(new long[] { 10, 20, 30, 40 }));
            foreach (var r in records)
            {
                Assert.That(r.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "step", "epoch", "lr", "train_loss", "val_loss", "chars_per_sec", "elapsed_s", "averaged" }));
                Assert.That(r.GetProperty("val_loss").GetDouble(), Is.GreaterThan(0).And.LessThan(5));
                Assert.That(r.GetProperty("chars_per_sec").GetDouble(), Is.GreaterThan(0));
            }
            Assert.That(records[^1].GetProperty("epoch").GetDouble(), Is.GreaterThan(1), "40 steps cross an epoch of this corpus");
            Assert.That(records[1].GetProperty("lr").GetDouble(), Is.EqualTo(0.007).Within(1e-12), "step 20 ran at 0.01 × 0.7");
        }
    }

    [Test]
    public void ResumeDropsMetricsLinesAfterTheCheckpoint()
    {
        string directory = Sandbox.PathOf("metrics-resume");
        using (var run = TrainingRun.Start(Config with { CheckpointEvery = 20 }, Corpus.Load(Config.Corpus), directory))
        {
            TrainingSandbox.TrainUntil(run, 40);
        }
        // Pretend the process died after the step-30 evaluation but before its next checkpoint: roll the checkpoint back.
        var path = Path.Combine(directory, MetricsLog.FileName);
        Assert.That(File.ReadAllLines(path), Has.Length.EqualTo(4));
        using (var again = TrainingRun.Start(Config with { CheckpointEvery = 20 }, Corpus.Load(Config.Corpus), Sandbox.PathOf("twenty")))
        {
            TrainingSandbox.TrainUntil(again, 20);
        }
        Directory.Delete(Path.Combine(directory, Checkpoint.LatestName), recursive: true);
        Directories.CopyFiles(Path.Combine(Sandbox.PathOf("twenty"), Checkpoint.LatestName), Path.Combine(directory, Checkpoint.LatestName));

        using var resumed = TrainingRun.Resume(directory, resetOptimizer: false);
        var steps = File.ReadAllLines(path).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt64());
        Assert.That(steps, Is.EqualTo(new long[] { 10, 20 }));
    }

    [Test]
    public void ResumeDeletesTheTemporariesOfKilledWritesAndNothingElse()
    {
        string directory = Sandbox.PathOf("abandoned");
        using (var run = TrainingRun.Start(Config, Corpus.Load(Config.Corpus), directory))
        {
            TrainingSandbox.TrainUntil(run, 20);
        }
        var before = Directory.GetFileSystemEntries(directory).Select(Path.GetFileName).ToArray();
        // A SIGKILL between an atomic write's temporary file and its rename leaves these behind (no catch runs).
        string[] abandoned = [LossPlot.FileName, TrainingRun.ModelFileName, LearningRatePlot.FileName, LearningRateSweep.CsvFileName];
        foreach (string name in abandoned) File.WriteAllText(Path.Combine(directory, $".{name}.{Guid.NewGuid():N}.tmp"), "half a file");
        string[] users = ["notes.txt", $".notes.txt.{Guid.NewGuid():N}.tmp"];
        foreach (string name in users) File.WriteAllText(Path.Combine(directory, name), "the user's");

        using var resumed = TrainingRun.Resume(directory, resetOptimizer: false);

        Assert.That(Directory.GetFileSystemEntries(directory).Select(Path.GetFileName), Is.EquivalentTo(before.Concat(users)));
    }

    [Test]
    public void KeepBestKeepsTheBestValidationCheckpoint()
    {
        var config = Config with { KeepBest = true, Steps = 60 };
        string directory = Sandbox.PathOf("best");
        using var run = TrainingRun.Start(config, Corpus.Load(config.Corpus), directory);
        var reporter = new RecordingReporter();
        TrainingSandbox.TrainUntil(run, 60, reporter);
        var best = reporter.Evaluations.MinBy(e => e.ValLoss)!;
        var kept = Checkpoint.Open(Path.Combine(directory, Checkpoint.BestName)).State;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(kept.Step, Is.EqualTo(best.Step));
            Assert.That(kept.ValLoss, Is.EqualTo(best.ValLoss));
            Assert.That(Checkpoint.Open(directory).State.BestValLoss, Is.EqualTo(best.ValLoss));
        }
    }

    [Test]
    public void KeepBestKeepsABestNewerThanTheCheckpointItResumesFrom()
    {
        var config = Config with { KeepBest = true, CheckpointEvery = 20 };
        string directory = Sandbox.PathOf("best-newer");
        var reporter = new RecordingReporter();
        using (var run = TrainingRun.Start(config, Corpus.Load(config.Corpus), directory))
        {
            TrainingSandbox.TrainUntil(run, 40, reporter);
        }
        var scores = reporter.Evaluations.ToDictionary(e => e.Step, e => e.ValLoss);
        Assert.That(scores[40], Is.LessThan(scores[30]).And.LessThan(Math.Min(scores[10], scores[20])),
            "the case needs a best at step 40 that step 30's score would beat only by the step-20 checkpoint's figure");

        // As after a crash (or a divergence rollback): the latest checkpoint is step 20's, while best/ holds step 40's model.
        using (var twenty = TrainingRun.Start(config, Corpus.Load(config.Corpus), Sandbox.PathOf("twenty")))
        {
            TrainingSandbox.TrainUntil(twenty, 20);
        }
        Directory.Delete(Path.Combine(directory, Checkpoint.LatestName), recursive: true);
        Directories.CopyFiles(Path.Combine(Sandbox.PathOf("twenty"), Checkpoint.LatestName), Path.Combine(directory, Checkpoint.LatestName));
        using (var resumed = TrainingRun.Resume(directory, resetOptimizer: false))
        {
            TrainingSandbox.TrainUntil(resumed, 30);
        }

        var kept = Checkpoint.Open(Path.Combine(directory, Checkpoint.BestName)).State;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(kept.Step, Is.EqualTo(40), "step 30's worse model replaced the best");
            Assert.That(kept.ValLoss, Is.EqualTo(scores[40]));
            Assert.That(Checkpoint.Open(directory).State.BestValLoss, Is.EqualTo(scores[40]));
        }
    }

    [Test]
    public void ValidationIsDeterministicAndScoresEveryCharacterOnce()
    {
        torch.manual_seed(2);
        var data = TrainingData.Split(Corpus.Load(Config.Corpus), 0.3, 4, 16);
        using var model = new CharModel(new(Config.Arch, 1, 12, 6, data.Vocabulary.Scalars), dropout: 0);

        double streamed = Validation.Loss(model, data.Validation, streams: 1, seqLen: 7);
        double again = Validation.Loss(model, data.Validation, streams: 5, seqLen: 9);
        double twice = Validation.Loss(model, data.Validation, streams: 5, seqLen: 9);

        // The reference: one forward pass over the whole split, every prediction scored.
        using var noGrad = torch.no_grad();
        model.eval();
        var ids = torch.tensor(data.Validation.Select(i => (long)i).ToArray()).reshape(-1, 1);
        var (logits, _) = model.forward(ids[..^1], model.ZeroState(1));
        double reference = torch.nn.functional.cross_entropy(logits.reshape(-1, data.Vocabulary.Count), ids[1..].reshape(-1)).item<float>();

        // Five streams: five contiguous slices of the n−1 predictions, each read in one pass from a zero state, every
        // prediction scored once. An untrained model scores most characters alike, so only this exact reference shows
        // a character skipped or scored twice.
        int predictions = data.Validation.Length - 1;
        int sliceLength = (predictions + 4) / 5;
        double slicesTotal = 0;
        for (int start = 0; start < predictions; start += sliceLength)
        {
            int end = Math.Min(start + sliceLength, predictions);
            var (sliceLogits, _) = model.forward(ids[start..end], model.ZeroState(1));
            slicesTotal += torch.nn.functional.cross_entropy(sliceLogits.reshape(-1, data.Vocabulary.Count), ids[(start + 1)..(end + 1)].reshape(-1), reduction: torch.nn.Reduction.Sum).item<float>();
        }
        double slices = slicesTotal / predictions;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(streamed, Is.EqualTo(reference).Within(1e-5));
            Assert.That(twice, Is.EqualTo(again), "bit-identical on repeat");
            Assert.That(again, Is.EqualTo(slices).Within(1e-5), "five streams score the five slices, each from a zero state");
            Assert.That(again, Is.Not.EqualTo(reference), "restarting the state at each slice changes the score");
        }
    }
}
