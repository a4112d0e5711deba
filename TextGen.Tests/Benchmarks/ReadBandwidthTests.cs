using TextGen.Benchmarks;

namespace TextGen.Tests.Benchmarks;

/// <summary>The roofline's read loops: both must read every byte of any buffer size, or the ceiling is wrong.</summary>
public sealed class ReadBandwidthTests
{
    // Sizes around the loops' strides (4 and 8 vectors) and the quarters' rounding, and one larger than the L2 cache.
    [TestCase(4)]
    [TestCase(60)]
    [TestCase(4 * 65)]
    [TestCase(4 * 1023)]
    [TestCase(4 * 4099)]
    [TestCase(3 << 20)]
    public void BothLoopsSumEveryElementAndTheCeilingIsTheFaster(long bytes)
    {
        // A loop that skipped or repeated an element would sum to other than the element count and throw.
        ReadRates rates = new ReadBandwidth(bytes).MeasureEach(0.02);

        Assert.That(rates.Sequential, Is.GreaterThan(0));
        Assert.That(rates.Quarters, Is.GreaterThan(0));
        Assert.That(rates.Best, Is.EqualTo(Math.Max(rates.Sequential, rates.Quarters)));
    }
}
