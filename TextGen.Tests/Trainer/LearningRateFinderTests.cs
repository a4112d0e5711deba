using TextGen.Trainer.Data;
using TextGen.Trainer.Training;

namespace TextGen.Tests.Trainer;

public sealed class LearningRateFinderTests : TinyTrainingFixture
{
    private protected override TrainingConfig Configure(TrainingConfig tiny) => tiny with { Schedule = ScheduleKind.Constant };

    private TrainingData _data = null!;

    [SetUp]
    public void SetUp()
    {
        _data = TrainingData.Split(Corpus.Load(Config.Corpus), Config.ValFraction, Config.Batch, Config.SeqLen);
    }

    private LearningRateSweep Sweep() => LearningRateFinder.Run(Config, _data, LearningRateFinder.DefaultSteps, _ => { }, CancellationToken.None);

    [Test]
    public void SuggestionLandsWithinADecadeOfTheBestRateOfAGrid()
    {
        // The known-good rate, measured rather than assumed: the rate of a half-decade grid whose run of the same
        // model, seed and batches reaches the lowest validation loss after 100 constant-rate steps.
        double[] grid = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3];
        var losses = grid.Select(lr =>
        {
            using var run = TrainingRun.Start(Config with { Lr = lr, Steps = 100, EvalEvery = 1000, CheckpointEvery = 1000 }, Corpus.Load(Config.Corpus), Sandbox.PathOf($"grid-{lr}"));
            run.Train(new TrainingBudget(100, null), new RecordingReporter(), CancellationToken.None);
            return Validation.Loss(run.Model, _data.Validation, Config.Batch, Config.SeqLen);
        }).ToArray();
        double best = grid[Array.IndexOf(losses, losses.Min())];

        double suggested = Sweep().SuggestedLr;
        string table = string.Join(", ", grid.Zip(losses, (lr, loss) => $"{lr}: {loss:F3}"));
        Assert.That(Math.Abs(Math.Log10(suggested / best)), Is.LessThanOrEqualTo(1), $"suggested {suggested:G3}, best of the grid {best} ({table})");
    }

    [Test]
    public void SweepStartsFromTheRunsInitialWeightsAndRepeatsExactly()
    {
        var first = Sweep();
        var second = Sweep();
        using var run = TrainingRun.Start(Config, Corpus.Load(Config.Corpus), Sandbox.PathOf("run"));
        var reporter = new RecordingReporter();
        run.Train(new TrainingBudget(1, null), reporter, CancellationToken.None);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(second.Points, Is.EqualTo(first.Points), "same seed, same sweep");
            // Step 0's loss is measured before any update, so it equals the run's first loss exactly.
            Assert.That(first.Points[0].Loss, Is.EqualTo(reporter.Steps[0].Loss));
            Assert.That(first.Points[0].Lr, Is.EqualTo(LearningRateSweep.StartLr));
        }
    }

    [Test]
    public void SweepStopsWhenCancelled()
    {
        using var cancel = new CancellationTokenSource();
        int seen = 0;
        Assert.That(
            () => LearningRateFinder.Run(Config, _data, 50, _ => { if (++seen == 5) cancel.Cancel(); }, cancel.Token),
            Throws.InstanceOf<OperationCanceledException>().With.Message.Contains("interrupted after 5 of 50 steps"));
    }
}
