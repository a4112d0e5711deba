using TextGen.Trainer.Training;

namespace TextGen.Tests.Trainer;

public sealed class LearningRateScheduleTests
{
    private static TrainingConfig Config(ScheduleKind kind) => TrainingConfig.Defaults with
    {
        Corpus = "unused",
        Lr = 0.01,
        Schedule = kind,
        Steps = 1100,
        Warmup = 100,
        DecayEvery = 300,
        DecayFactor = 0.5,
    };

    [Test]
    public void ConstantNeverMoves()
    {
        var schedule = new LearningRateSchedule(Config(ScheduleKind.Constant));
        Assert.That(new[] { 0L, 1, 500, 1099, 5000 }.Select(schedule.At), Is.All.EqualTo(0.01));
    }

    [Test]
    public void CosineWarmsUpLinearlyThenFallsToATenth()
    {
        var schedule = new LearningRateSchedule(Config(ScheduleKind.Cosine));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(schedule.At(0), Is.EqualTo(0.0001).Within(1e-15));
            Assert.That(schedule.At(49), Is.EqualTo(0.005).Within(1e-15));
            Assert.That(schedule.At(99), Is.EqualTo(0.01).Within(1e-15));
            Assert.That(schedule.At(100), Is.EqualTo(0.01).Within(1e-15));
            Assert.That(schedule.At(599), Is.EqualTo(0.001 + 0.5 * (1 + Math.Cos(Math.PI * 499 / 999.0)) * 0.009).Within(1e-15));
            Assert.That(schedule.At(1099), Is.EqualTo(0.001).Within(1e-15));
            Assert.That(schedule.At(4000), Is.EqualTo(0.001).Within(1e-15), "a resume past the end stays at the floor");
        }
    }

    [Test]
    public void CosineEndsAtATenthEvenWhenTheWarmupLeavesOneStep()
    {
        var schedule = new LearningRateSchedule(Config(ScheduleKind.Cosine) with { Steps = 10, Warmup = 9 });
        Assert.That(Enumerable.Range(7, 4).Select(s => schedule.At(s)), Is.EqualTo(new[] { 0.08 / 9, 0.01, 0.001, 0.001 }).Within(1e-15));
    }

    [TestCase(50, 5)]
    [TestCase(3000, 100)]
    public void DefaultWarmupIsATenthOfTheRunUpTo100Steps(long steps, long warmup)
    {
        var config = Config(ScheduleKind.Cosine) with { Steps = steps, Warmup = null };
        var schedule = new LearningRateSchedule(config);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(config.WarmupSteps(), Is.EqualTo(warmup));
            Assert.That(config.Problems(), Is.Empty);
            Assert.That(schedule.At(warmup - 1), Is.EqualTo(0.01).Within(1e-15));
            Assert.That(schedule.At(warmup - 2), Is.LessThan(0.01));
        }
    }

    [Test]
    public void StepDecayHalvesEveryInterval()
    {
        var schedule = new LearningRateSchedule(Config(ScheduleKind.Step));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(schedule.At(0), Is.EqualTo(0.01));
            Assert.That(schedule.At(299), Is.EqualTo(0.01));
            Assert.That(schedule.At(300), Is.EqualTo(0.005));
            Assert.That(schedule.At(899), Is.EqualTo(0.0025));
            Assert.That(schedule.At(900), Is.EqualTo(0.00125));
        }
    }
}
