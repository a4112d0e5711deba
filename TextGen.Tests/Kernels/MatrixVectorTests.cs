using System.Numerics;
using System.Runtime.Intrinsics;
using TextGen.Runtime.Kernels;

namespace TextGen.Tests.Kernels;

internal sealed class MatrixVectorTests
{
    private static readonly int[] RowCounts = { 0, 1, 2, 3, 4, 5, 7, 8, 9, 17, 24 };
    private static readonly int[] InputWidths = { 0, 1, 3, 7, 8, 15, 16, 17, 31, 33, 64, 100 };
    private static readonly int[] HiddenWidths = { 0, 1, 5, 16, 23 };

    [Test]
    public void ScalarReferenceMatchesDoublePrecisionDotProducts()
    {
        var random = new Random(11);
        foreach (int rows in RowCounts)
        foreach (int n1 in InputWidths)
        foreach (int n2 in HiddenWidths)
        {
            var (w1, x, w2, h, bias) = RandomProblem(random, rows, n1, n2);
            var y = new float[rows];
            MatrixVector.MultiplyPairScalar(w1, x, w2, h, bias, y);
            for (int r = 0; r < rows; r++)
            {
                double expected = bias[r];
                for (int j = 0; j < n1; j++) expected += (double)w1[r * n1 + j] * x[j];
                for (int j = 0; j < n2; j++) expected += (double)w2[r * n2 + j] * h[j];
                Assert.That(y[r], Is.EqualTo(expected).Within(1e-5), $"rows {rows}, n1 {n1}, n2 {n2}, row {r}");
            }
        }
    }

    [TestCaseSource(typeof(AllKernelPaths), nameof(AllKernelPaths.Modes))]
    [TestCaseSource(typeof(AllKernelPaths), nameof(AllKernelPaths.CachedWeightModes))]
    public void EveryPathMatchesTheScalarReference(KernelMode mode)
    {
        var random = new Random(12);
        foreach (int rows in RowCounts)
        foreach (int n1 in InputWidths)
        foreach (int n2 in HiddenWidths)
        {
            var (w1, x, w2, h, bias) = RandomProblem(random, rows, n1, n2);
            var expected = new float[rows];
            var actual = new float[rows];
            MatrixVector.MultiplyPairScalar(w1, x, w2, h, bias, expected);
            MatrixVector.MultiplyPair(mode, w1, x, w2, h, bias, actual);
            for (int r = 0; r < rows; r++)
            {
                if (mode.Strict) Assert.That(BitConverter.SingleToInt32Bits(actual[r]), Is.EqualTo(BitConverter.SingleToInt32Bits(expected[r])), $"strict {mode.Path}: rows {rows}, n1 {n1}, n2 {n2}, row {r}");
                else Assert.That(actual[r], Is.EqualTo(expected[r]).Within(1e-5), $"{mode.Path}: rows {rows}, n1 {n1}, n2 {n2}, row {r}");
            }
        }
    }

    /// <summary>Prefetch hints never change a bit, in either mode: the tiles and the order are the same without them.</summary>
    [TestCaseSource(typeof(AllKernelPaths), nameof(AllKernelPaths.Modes))]
    public void WeightsThatStayInCacheGiveTheSameBits(KernelMode mode)
    {
        var random = new Random(16);
        var cached = new KernelMode(mode.Path, mode.Strict, prefetchesWeights: false);
        foreach (int rows in RowCounts)
        foreach (int n1 in InputWidths)
        foreach (int n2 in HiddenWidths)
        {
            var (w1, x, w2, h, bias) = RandomProblem(random, rows, n1, n2);
            var hinted = new float[rows];
            var unhinted = new float[rows];
            MatrixVector.MultiplyPair(mode, w1, x, w2, h, bias, hinted);
            MatrixVector.MultiplyPair(cached, w1, x, w2, h, bias, unhinted);
            Assert.That(unhinted.Select(BitConverter.SingleToInt32Bits), Is.EqualTo(hinted.Select(BitConverter.SingleToInt32Bits)), $"{mode.Path}: rows {rows}, n1 {n1}, n2 {n2}");
        }
    }

    /// <summary>
    /// Matrices of at least <see cref="MatrixVector.QuarterTilesMinBytes"/>, which the 256-bit path reads in quarter
    /// tiles: every row computed once and stored in its place, with row counts that leave the last tile short and
    /// rows with a short last block. Strict mode gives the reference's bits; fast mode stays within 1e-5 relative.
    /// </summary>
    [TestCaseSource(typeof(AllKernelPaths), nameof(AllKernelPaths.Modes))]
    public void LargeMatricesGiveTheReferenceOnEveryRow(KernelMode mode)
    {
        var random = new Random(15);
        foreach (var (rows, n1, n2) in new[] { (1, 262_144, 0), (3, 90_000, 17), (5, 52_500, 29), (1027, 200, 57), (1030, 0, 255), (1032, 128, 128) })
        {
            Assert.That((long)rows * (n1 + n2) * sizeof(float), Is.GreaterThanOrEqualTo(MatrixVector.QuarterTilesMinBytes), "a case too small to test the quarter tiles");
            var (w1, x, w2, h, bias) = RandomProblem(random, rows, n1, n2);
            var expected = new float[rows];
            var actual = new float[rows];
            Array.Fill(actual, float.NaN);
            MatrixVector.MultiplyPairScalar(w1, x, w2, h, bias, expected);
            MatrixVector.MultiplyPair(mode, w1, x, w2, h, bias, actual);
            for (int r = 0; r < rows; r++)
            {
                if (mode.Strict) Assert.That(BitConverter.SingleToInt32Bits(actual[r]), Is.EqualTo(BitConverter.SingleToInt32Bits(expected[r])), $"strict {mode.Path}: rows {rows}, n1 {n1}, n2 {n2}, row {r}");
                else Assert.That(actual[r], Is.EqualTo(expected[r]).Within(1e-5 * Math.Max(1, Math.Abs(expected[r]))), $"{mode.Path}: rows {rows}, n1 {n1}, n2 {n2}, row {r}");
            }
        }
    }

    [TestCaseSource(typeof(AllKernelPaths), nameof(AllKernelPaths.Modes))]
    public void MultiplyIsThePairWithoutTheSecondMatrix(KernelMode mode)
    {
        var random = new Random(13);
        var (w, x, _, _, bias) = RandomProblem(random, 6, 19, 0);
        var y = new float[6];
        MatrixVector.Multiply(mode, w, x, bias, y);
        for (int r = 0; r < 6; r++)
        {
            double expected = bias[r];
            for (int j = 0; j < 19; j++) expected += (double)w[r * 19 + j] * x[j];
            Assert.That(y[r], Is.EqualTo(expected).Within(1e-5));
        }
    }

    [Test]
    public void ShapeMismatchIsRefused()
    {
        var y = new float[2];
        Assert.Throws<ArgumentException>(() => MatrixVector.MultiplyPairScalar(new float[5], new float[3], default, default, new float[2], y));
        Assert.Throws<ArgumentException>(() => MatrixVector.MultiplyPairVector512<RoundedMultiplyAdd>(true, new float[6], new float[3], new float[3], new float[2], new float[2], y));
        Assert.Throws<ArgumentException>(() => MatrixVector.MultiplyPairVector256<RoundedMultiplyAdd>(false, new float[6], new float[3], default, default, new float[1], y));
    }

    [Test]
    public void FixedOrderSumMatchesDoublePrecision()
    {
        var random = new Random(14);
        foreach (int n in new[] { 0, 1, 15, 16, 17, 65, 300 })
        {
            float[] values = AllKernelPaths.RandomFloats(random, n);
            double expected = values.Sum(v => (double)v);
            Assert.That(FixedOrderSum.Sum(values), Is.EqualTo(expected).Within(1e-5), $"n {n}");
        }
    }

    [Test]
    public void TheVectorTreesSumEachRowInTheScalarTreesOrder()
    {
        // Magnitudes spread over 2^-20..2^20, so a sum taken in any other order would round differently.
        var random = new Random(15);
        for (int trial = 0; trial < 200; trial++)
        {
            var rows = new float[4][];
            for (int k = 0; k < 4; k++) rows[k] = Enumerable.Range(0, FixedOrderSum.Lanes).Select(_ => (float)((random.NextDouble() - 0.5) * Math.Pow(2, random.Next(-20, 21)))).ToArray();
            Vector512<float>[] v = rows.Select(r => Vector512.Create(r)).ToArray();
            var eights = v.Select(x => x.GetLower() + x.GetUpper()).ToArray();
            Vector128<float> wide = FixedOrderSum.Trees(v[0], v[1], v[2], v[3]), half = FixedOrderSum.Trees(eights[0], eights[1], eights[2], eights[3]);
            // Rows in a vector's elements, lane l three vectors after lane l-1 (a stride, as the lane-panel tiles keep them).
            var byLane = new Vector512<float>[3 * FixedOrderSum.Lanes];
            for (int l = 0; l < FixedOrderSum.Lanes; l++) byLane[3 * l] = Vector512.Create(rows[0][l], rows[1][l], rows[2][l], rows[3][l], 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
            Vector512<float> across = FixedOrderSum.Tree(ref byLane[0], laneStride: 3);
            var byLane256 = byLane.Select(x => x.GetLower()).ToArray();
            Vector256<float> across256 = FixedOrderSum.Tree(ref byLane256[0], laneStride: 3);
            for (int k = 0; k < 4; k++)
            {
                int expected = BitConverter.SingleToInt32Bits(FixedOrderSum.Tree(rows[k]));
                Assert.That(BitConverter.SingleToInt32Bits(wide.GetElement(k)), Is.EqualTo(expected), $"trial {trial}, row {k}, 512-bit");
                Assert.That(BitConverter.SingleToInt32Bits(half.GetElement(k)), Is.EqualTo(expected), $"trial {trial}, row {k}, 256-bit");
                Assert.That(BitConverter.SingleToInt32Bits(across.GetElement(k)), Is.EqualTo(expected), $"trial {trial}, row {k}, rows in lanes");
                Assert.That(BitConverter.SingleToInt32Bits(across256.GetElement(k)), Is.EqualTo(expected), $"trial {trial}, row {k}, rows in 256-bit lanes");
            }
        }
    }

    /// <summary>
    /// The tree over a <see cref="Vector{T}"/> kernel's accumulators, at this run's width: 8 floats here, 4 in
    /// <see cref="NarrowVectorTests"/>' child run (16 needs AVX-512 and <c>DOTNET_MaxVectorTBitWidth=512</c>).
    /// </summary>
    [Test]
    public void ThePortableTreeSumsTheLanesInTheScalarTreesOrder()
    {
        var random = new Random(16);
        int width = Vector<float>.Count;
        for (int trial = 0; trial < 200; trial++)
        {
            float[] lanes = Enumerable.Range(0, FixedOrderSum.Lanes).Select(_ => (float)((random.NextDouble() - 0.5) * Math.Pow(2, random.Next(-20, 21)))).ToArray();
            Vector<float> At(int vector) => vector * width < lanes.Length ? new Vector<float>(lanes, vector * width) : default;
            float tree = FixedOrderSum.Tree(At(0), At(1), At(2), At(3));
            Assert.That(BitConverter.SingleToInt32Bits(tree), Is.EqualTo(BitConverter.SingleToInt32Bits(FixedOrderSum.Tree(lanes))), $"trial {trial}, {width} floats a vector");
        }
    }

    private static (float[] W1, float[] X, float[] W2, float[] H, float[] Bias) RandomProblem(Random random, int rows, int n1, int n2)
        => (AllKernelPaths.RandomFloats(random, rows * n1, 0.5f), AllKernelPaths.RandomFloats(random, n1), AllKernelPaths.RandomFloats(random, rows * n2, 0.5f),
            AllKernelPaths.RandomFloats(random, n2), AllKernelPaths.RandomFloats(random, rows));
}
