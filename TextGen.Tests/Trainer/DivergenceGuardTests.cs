using TextGen.Trainer.Training;

namespace TextGen.Tests.Trainer;

public sealed class DivergenceGuardTests
{
    [TestCase(double.NaN)]
    [TestCase(double.PositiveInfinity)]
    public void NonFiniteLossDiverges(double loss)
    {
        var guard = new DivergenceGuard(DivergenceState.Initial);
        Assert.That(guard.Observe(4.0), Is.Null);
        Assert.That(guard.Observe(loss), Is.EqualTo($"the loss is {loss}"));
    }

    [Test]
    public void DecreasingNoisyLossIsHealthy()
    {
        var guard = new DivergenceGuard(DivergenceState.Initial);
        var random = new Random(1);
        for (int step = 0; step < 2000; step++)
        {
            double loss = 4.2 * Math.Exp(-step / 300.0) + 1.2 + (random.NextDouble() - 0.5) * 0.6;
            Assert.That(guard.Observe(loss), Is.Null, $"step {step}");
        }
    }

    [Test]
    public void LossFarAboveItsMinimumDiverges()
    {
        var guard = new DivergenceGuard(DivergenceState.Initial);
        for (int step = 0; step < 100; step++) Assert.That(guard.Observe(1.5), Is.Null);
        string? verdict = null;
        for (int step = 0; step < 100 && verdict is null; step++) verdict = guard.Observe(8.0);
        Assert.That(verdict, Does.StartWith("the smoothed loss").And.Contain("far above its running minimum 1.500"));
    }

    [Test]
    public void SmallLossesNeedAWholeNatToDiverge()
    {
        var guard = new DivergenceGuard(DivergenceState.Initial);
        for (int step = 0; step < 100; step++) guard.Observe(0.05);
        for (int step = 0; step < 200; step++) Assert.That(guard.Observe(0.9), Is.Null, "doubling a tiny loss is not a blow-up");
    }
}
