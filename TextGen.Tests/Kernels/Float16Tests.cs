using TextGen.Runtime.Kernels;

namespace TextGen.Tests.Kernels;

/// <summary><see cref="Float16.IndexOfNonFinite"/> against an element-by-element reference.</summary>
public sealed class Float16Tests
{
    private static readonly ushort[] NonFinite = { 0x7C00, 0xFC00, 0x7C01, 0xFE00, 0x7FFF };

    // Every length across the first vectors of every width, and longer ones with tails.
    private static IEnumerable<int> Lengths() => Enumerable.Range(0, 70).Concat(new[] { 511, 512, 513, 4099 });

    [TestCaseSource(nameof(Lengths))]
    public void FindsTheFirstNaNOrInfinityWhereverItIs(int length)
    {
        var random = new Random(length);
        // Finite halves of every kind: zeros, subnormals, normals up to 65504, both signs; never exponent 31.
        ushort[] Finite() => Enumerable.Range(0, length).Select(_ => (ushort)(random.Next(0, 31) << 10 | random.Next(0, 1 << 10) | random.Next(0, 2) << 15)).ToArray();
        int Reference(ushort[] halves) => Array.FindIndex(halves, h => (h & 0x7C00) == 0x7C00);

        ushort[] clean = Finite();
        Assert.That(Float16.IndexOfNonFinite(clean), Is.EqualTo(-1).And.EqualTo(Reference(clean)));

        foreach (int position in new[] { 0, 1, length / 2, 15, 16, 31, 32, 33, length - 1 }.Where(p => p >= 0 && p < length).Distinct())
        {
            foreach (ushort bad in NonFinite)
            {
                ushort[] halves = Finite();
                halves[position] = bad;
                if (position + 3 < length) halves[length - 1] = NonFinite[0]; // a later one must not be reported first
                Assert.That(Float16.IndexOfNonFinite(halves), Is.EqualTo(position).And.EqualTo(Reference(halves)), $"0x{bad:X4} at {position} of {length}");
            }
        }
    }
}
