using TextGen.Runtime.Format;
using TextGen.Trainer.Training;

namespace TextGen.Tests.Trainer;

public sealed class LearningRateSweepTests
{
    [Test]
    public void RatesGrowExponentiallyFromStartToEnd()
    {
        var sweep = new LearningRateSweep(7);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(sweep.RateAt(0), Is.EqualTo(1e-6));
            Assert.That(sweep.RateAt(6), Is.EqualTo(1.0).Within(1e-12));
            // Six decades in six intervals: a factor of ten per step.
            for (int i = 1; i < 7; i++) Assert.That(sweep.RateAt(i) / sweep.RateAt(i - 1), Is.EqualTo(10).Within(1e-9));
        }
    }

    [Test]
    public void SmoothingIsABiasCorrectedMovingAverage()
    {
        var sweep = new LearningRateSweep(100);
        sweep.Record(4.0);
        sweep.Record(2.0);
        const double b = LearningRateSweep.Smoothing;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(sweep.Points[0].SmoothedLoss, Is.EqualTo(4.0).Within(1e-12), "corrected, the first average is the first loss, not a tenth of it");
            Assert.That(sweep.Points[1].SmoothedLoss, Is.EqualTo((b * (1 - b) * 4 + (1 - b) * 2) / (1 - b * b)).Within(1e-12));
            Assert.That(sweep.Points[1].Lr, Is.EqualTo(sweep.RateAt(1)));
        }
    }

    [Test]
    public void SuggestionIsATenthOfTheRateAtTheLowestSmoothedLoss()
    {
        var sweep = new LearningRateSweep(60);
        // A valley around step 40, then a climb that never reaches four times the minimum.
        for (int i = 0; i < 60; i++) sweep.Record(1 + Math.Pow((i - 40) / 10.0, 2));
        int lowest = Enumerable.Range(0, 60).MinBy(i => sweep.Points[i].SmoothedLoss);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(sweep.DivergedAtLr, Is.Null);
            Assert.That(sweep.IsOver, Is.True);
            Assert.That(lowest, Is.GreaterThan(40), "the average lags the raw curve");
            Assert.That(sweep.MinimumLr, Is.EqualTo(sweep.RateAt(lowest)));
            Assert.That(sweep.SuggestedLr, Is.EqualTo(sweep.RateAt(lowest) / 10).Within(1e-15));
        }
    }

    [Test]
    public void DivergesWhereTheSmoothedLossPassesFourTimesItsMinimum()
    {
        var sweep = new LearningRateSweep(100);
        int step = 0;
        for (; step < 30; step++) sweep.Record(2.0);
        while (!sweep.IsOver) sweep.Record(2.0 + 2 * (++step - 30));
        var last = sweep.Points[^1];
        using (Assert.EnterMultipleScope())
        {
            Assert.That(sweep.Points, Has.Count.LessThan(100), "the sweep stops early");
            Assert.That(sweep.DivergedAtLr, Is.EqualTo(last.Lr));
            Assert.That(last.SmoothedLoss, Is.GreaterThan(8.0));
            Assert.That(sweep.Points[^2].SmoothedLoss, Is.LessThanOrEqualTo(8.0), "the first rate past 4×, not a later one");
            Assert.That(() => sweep.Record(1.0), Throws.InvalidOperationException);
        }
    }

    [Test]
    public void NonFiniteLossDivergesAtOnce()
    {
        var sweep = new LearningRateSweep(100);
        sweep.Record(3.0);
        sweep.Record(double.NaN);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(sweep.DivergedAtLr, Is.EqualTo(sweep.RateAt(1)));
            Assert.That(sweep.SuggestedLr, Is.EqualTo(LearningRateSweep.StartLr), "never below the first rate");
        }
    }

    [Test]
    public void CsvHasOneLinePerStep()
    {
        using var sandbox = new TrainingSandbox();
        var sweep = new LearningRateSweep(10);
        for (int i = 0; i < 10; i++) sweep.Record(3 - 0.1 * i);
        string path = sandbox.PathOf(LearningRateSweep.CsvFileName);
        sweep.WriteCsv(path);
        var lines = File.ReadAllLines(path);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(lines[0], Is.EqualTo("lr,loss,smoothed_loss"));
            Assert.That(lines, Has.Length.EqualTo(11));
            Assert.That(lines[10].Split(',').Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)), Is.EqualTo(new[] { 1.0, sweep.Points[9].Loss, sweep.Points[9].SmoothedLoss }).Within(1e-12));
            Assert.That(ModelFileStorage.TemporariesOf(path), Is.Empty);
        }
    }
}
