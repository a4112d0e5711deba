using TextGen.Runtime.Kernels;

namespace TextGen.Tests.Kernels;

/// <summary>A matrix's place in its storage array (<see cref="WeightRows.Origin"/>) changes no result.</summary>
internal sealed class WeightRowsTests
{
    private static readonly int[] Origins = { 1, 3, 16, 29 };

    [TestCaseSource(typeof(AllKernelPaths), nameof(AllKernelPaths.Modes))]
    public void AMatrixAnywhereInItsArrayGivesTheBitsItGivesAtTheStart(KernelMode mode)
    {
        var random = new Random(41);
        const int rows = 19, n1 = 37, n2 = 48, sessions = 3;
        float[] w1 = AllKernelPaths.RandomFloats(random, rows * n1), w2 = AllKernelPaths.RandomFloats(random, rows * n2);
        float[] xs = AllKernelPaths.RandomFloats(random, sessions * n1), hs = AllKernelPaths.RandomFloats(random, sessions * n2);
        float[] bias = AllKernelPaths.RandomFloats(random, rows);
        float[] single = Single(mode, WeightRows.FromFloats(w1, rows, n1), xs, WeightRows.FromFloats(w2, rows, n2), hs, bias);
        float[] batch = Batch(mode, WeightRows.FromFloats(w1, rows, n1), xs, WeightRows.FromFloats(w2, rows, n2), hs, bias, sessions);
        foreach (int origin in Origins)
        {
            WeightRows moved1 = WeightRows.FromFloats(Moved(w1, origin), rows, n1), moved2 = WeightRows.FromFloats(Moved(w2, origin + 2), rows, n2);
            Assert.That(moved1.Origin, Is.EqualTo(origin));
            Assert.That(Bits(Single(mode, moved1, xs, moved2, hs, bias)), Is.EqualTo(Bits(single)), $"one session, origin {origin}");
            Assert.That(Bits(Batch(mode, moved1, xs, moved2, hs, bias, sessions)), Is.EqualTo(Bits(batch)), $"{sessions} sessions, origin {origin}");
            Assert.That(moved1.Slice(5, 7)[2, 30], Is.EqualTo(w1[7 * n1 + 30]), $"element (7, 30) through a slice, origin {origin}");
        }
    }

    // The values at element `origin` of a larger array whose other elements are NaN: a kernel that read them would show it.
    private static ArraySegment<float> Moved(float[] values, int origin)
    {
        var storage = new float[origin + values.Length + 7];
        storage.AsSpan().Fill(float.NaN);
        values.CopyTo(storage, origin);
        return new ArraySegment<float>(storage, origin, values.Length);
    }

    private static float[] Single(KernelMode mode, WeightRows w1, float[] xs, WeightRows w2, float[] hs, float[] bias)
    {
        var y = new float[w1.Rows];
        MatrixVector.MultiplyPair(mode, w1, xs.AsSpan(0, w1.Columns), w2, hs.AsSpan(0, w2.Columns), bias, y);
        return y;
    }

    private static float[] Batch(KernelMode mode, WeightRows w1, float[] xs, WeightRows w2, float[] hs, float[] bias, int sessions)
    {
        var ys = new float[sessions * w1.Rows];
        BatchedMatrixVector.MultiplyPair(mode, w1, xs, w2, hs, bias, 0, ys, w1.Rows, w1.Rows, sessions);
        return ys;
    }

    private static int[] Bits(float[] values) => values.Select(BitConverter.SingleToInt32Bits).ToArray();
}
