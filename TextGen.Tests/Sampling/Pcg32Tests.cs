using TextGen.Runtime.Sampling;

namespace TextGen.Tests.Sampling;

internal sealed class Pcg32Tests
{
    [Test]
    public void MatchesTheReferenceImplementation()
    {
        // pcg32_srandom_r(&rng, 42u, 54u) then pcg32_random_r, from pcg32-demo.c at pcg-random.org
        var rng = Pcg32.Seeded(42, 54);
        uint[] expected = { 0xa15c02b7, 0x7b47f409, 0xba1d3330, 0x83d2f293, 0xbfa4784b, 0xcbed606e };
        foreach (uint value in expected) Assert.That(rng.NextUInt32(), Is.EqualTo(value));
    }

    [Test]
    public void ContinuesFromASavedState()
    {
        var rng = Pcg32.Seeded(7, 3);
        rng.NextUInt32();
        var copy = Pcg32.FromState(rng.State, rng.Increment);
        for (int i = 0; i < 10; i++) Assert.That(copy.NextUInt32(), Is.EqualTo(rng.NextUInt32()));
    }

    [Test]
    public void FloatsAreUniformInTheUnitInterval()
    {
        var rng = Pcg32.Seeded(1, 1);
        var buckets = new int[10];
        for (int i = 0; i < 100_000; i++)
        {
            float u = rng.NextFloat();
            Assert.That(u, Is.GreaterThanOrEqualTo(0f).And.LessThan(1f));
            buckets[(int)(u * 10)]++;
        }
        foreach (int count in buckets) Assert.That(count, Is.InRange(9_500, 10_500));
    }
}
