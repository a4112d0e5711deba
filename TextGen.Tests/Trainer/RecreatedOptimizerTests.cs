using TextGen.Trainer.Data;
using TextGen.Trainer.Training;
using TorchSharp.Modules;

namespace TextGen.Tests.Trainer;

/// <summary><c>--recreate-optimizer-every</c>: the blog's mistake, on demand, and what it costs.</summary>
public sealed class RecreatedOptimizerTests : TinyTrainingFixture
{
    // A constant rate high enough for this tiny model to reach its loss floor within the run, no dropout noise.
    private protected override TrainingConfig Configure(TrainingConfig tiny) => tiny with
    {
        Schedule = ScheduleKind.Constant, Lr = 0.03, Dropout = 0, Steps = 400, EvalEvery = 200, CheckpointEvery = 1000,
    };

    private (RecordingReporter Reporter, long[] AdamSteps) Train(TrainingConfig config, string name)
    {
        using var run = TrainingRun.Start(config, Corpus.Load(config.Corpus), Sandbox.PathOf(name));
        var reporter = new RecordingReporter();
        Assert.That(run.Train(new TrainingBudget(config.Steps, null), reporter, CancellationToken.None).End, Is.EqualTo(TrainingEnd.Completed));
        return (reporter, run.Optimizer.state_dict().State.Cast<Adam.State>().Select(s => s.step).ToArray());
    }

    [Test]
    public void PersistentAdamEndsLowerThanAdamRecreatedEveryTwoSteps()
    {
        var persistent = Train(Config, "once");
        var recreated = Train(Config with { RecreateOptimizerEvery = 2 }, "recreated");

        // The mean training loss over steps 201-400, when both have reached their floor. Early on a re-created Adam
        // even learns faster here (its bias-corrected first steps are ±lr for every weight, larger than a settled
        // Adam takes); near the floor the persistent Adam's steps shrink where gradients disagree (|m̂|/√v̂ ≪ 1),
        // while the re-created one keeps taking full-size steps, so it settles higher.
        double once = persistent.Reporter.Evaluations[^1].TrainLoss, again = recreated.Reporter.Evaluations[^1].TrainLoss;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(persistent.AdamSteps, Is.Not.Empty.And.All.EqualTo(400), "one Adam saw every step");
            Assert.That(recreated.AdamSteps, Is.Not.Empty.And.All.EqualTo(2), "the last Adam was created two steps before the end");
            Assert.That(once, Is.LessThan(again), $"persistent {once:F4}, re-created every 2 steps {again:F4}");
        }
    }

    [Test]
    public void RecreationIsPartOfTheConfigSoAResumeKeepsDoingIt()
    {
        var config = Config with { Steps = 20, RecreateOptimizerEvery = 7, CheckpointEvery = 10 };
        string directory = Sandbox.PathOf("resumed");
        using (var run = TrainingRun.Start(config, Corpus.Load(config.Corpus), directory))
        {
            run.Train(new TrainingBudget(10, null), new RecordingReporter(), CancellationToken.None);
        }
        using var resumed = TrainingRun.Resume(directory, resetOptimizer: false);
        Assert.That(resumed.Optimizer.state_dict().State.Cast<Adam.State>().Select(s => s.step), Is.Not.Empty.And.All.EqualTo(3), "restored: created at step 7, three steps since");
        resumed.Train(new TrainingBudget(20, null), new RecordingReporter(), CancellationToken.None);
        Assert.That(resumed.Optimizer.state_dict().State.Cast<Adam.State>().Select(s => s.step), Is.Not.Empty.And.All.EqualTo(6), "re-created again at step 14");
    }
}
