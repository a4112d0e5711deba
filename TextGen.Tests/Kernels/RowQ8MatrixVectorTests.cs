using TextGen.Runtime.Format;
using TextGen.Runtime.Kernels;

namespace TextGen.Tests.Kernels;

internal sealed class RowQ8MatrixVectorTests
{
    // The x86 tile kernels: under 8 rows the scalar path, 8 one tile, 9 and 17 a last tile that overlaps the one before.
    // The Vector<T> kernel's tiles of three rows from thirds: 1, 2, 7 and 8 repeat the last row in a tile, 3 and 9 do not.
    private static readonly int[] RowCounts = { 0, 1, 2, 3, 7, 8, 9, 17 };
    // Kept rows are whole 64-byte lines: widths below, at and past one and two lines, and a layer's 576.
    private static readonly int[] InputWidths = { 0, 1, 31, 32, 63, 64, 65, 100, 576 };
    private static readonly int[] HiddenWidths = { 0, 1, 40, 64, 129 };

    [TestCaseSource(typeof(AllKernelPaths), nameof(AllKernelPaths.Modes))]
    public void EveryPathGivesTheBitsOfTheScalarReference(KernelMode mode)
    {
        var random = new Random(41);
        foreach (int rows in RowCounts)
        foreach (int n1 in InputWidths)
        foreach (int n2 in HiddenWidths)
        {
            var (w1, x, w2, h, bias) = RandomProblem(random, rows, n1, n2);
            var actual = new float[rows];
            MatrixVector.MultiplyPair(mode, w1, x, w2, h, bias, actual);
            Assert.That(actual, Is.EqualTo(Reference(w1, x, w2, h, bias)), $"rows {rows}, n1 {n1}, n2 {n2}");
        }
    }

    [TestCaseSource(typeof(AllKernelPaths), nameof(AllKernelPaths.Modes))]
    public void ExactlyRepresentableProblemsGiveTheExactProduct(KernelMode mode)
    {
        // Weights k/128 with a ±127/128 in every row (scale exactly 2^-7) and vector elements k/64 with a ±1 (scale
        // 2^-6): quantizing is exact and so are the sums, so y is the product of the decoded weights to the bit. This
        // checks the products themselves (columns paired with the right elements, signs, the 128 taken off again).
        var random = new Random(42);
        foreach (int rows in new[] { 1, 8, 13 })
        foreach (int n1 in new[] { 0, 45, 128 })
        foreach (int n2 in new[] { 0, 31, 64 })
        {
            WeightRows w1 = ExactWeights(random, rows, n1), w2 = ExactWeights(random, rows, n2);
            float[] x = ExactVector(random, n1), h = ExactVector(random, n2);
            float[] bias = AllKernelPaths.RandomFloats(random, rows).Select(b => MathF.Round(b * 64) / 64).ToArray();
            var expected = new float[rows];
            for (int r = 0; r < rows; r++) expected[r] = (float)(Enumerable.Range(0, n1).Sum(c => (double)w1[r, c] * x[c]) + Enumerable.Range(0, n2).Sum(c => (double)w2[r, c] * h[c]) + bias[r]);
            var actual = new float[rows];
            MatrixVector.MultiplyPair(mode, w1, x, w2, h, bias, actual);
            Assert.That(actual, Is.EqualTo(expected), $"rows {rows}, n1 {n1}, n2 {n2}");
        }
    }

    [TestCaseSource(typeof(AllKernelPaths), nameof(AllKernelPaths.Modes))]
    public void TheLargestProductsNeitherSaturateNorLoseTheirSign(KernelMode mode)
    {
        // Kept weights 0 and 255 (−128 and +127) against ±64, the pairs vpmaddubsw sums at 16 bits: 2·255·64 = 32,640
        // fits; a vector quantized to ±127 would saturate here. Every row's sum is exact in float, so y must be exact.
        const int rows = 9, columns = 200;
        var bytes = new byte[rows * 4 * TensorEncoding.Q8BlocksPerRow(columns) + rows * columns];
        int quants = bytes.Length - rows * columns;
        for (int i = 0; i < quants; i += 4) BitConverter.TryWriteBytes(bytes.AsSpan(i, 4), 1f);
        for (int i = 0; i < rows * columns; i++) bytes[quants + i] = unchecked((byte)(sbyte)((i / 3 + i / columns) % 2 == 0 ? -128 : 127));
        WeightRows w = WeightRows.FromTensor(new ModelTensor("w", TensorDType.Q8, new[] { rows, columns }, bytes), rowScaledQ8: true);
        float[] v = Enumerable.Range(0, columns).Select(c => c % 4 < 2 ? -1f : 1f).ToArray(); // quants ±64, scale 1/64
        var actual = new float[rows];
        MatrixVector.Multiply(mode, w, v, new float[rows], actual);
        for (int r = 0; r < rows; r++) Assert.That(actual[r], Is.EqualTo((float)Enumerable.Range(0, columns).Sum(c => (double)w[r, c] * v[c])), $"row {r}");
    }

    [TestCaseSource(typeof(AllKernelPaths), nameof(AllKernelPaths.Modes))]
    public void TilesOfARowSliceGiveTheBitsOfTheScalarReference(KernelMode mode)
    {
        // The tiles start from a slice's first row (a gate block of a GRU or LSTM matrix): rows 8..24 of 40.
        var random = new Random(43);
        WeightRows w1 = Encoded(random, 40, 100).Slice(8, 17), w2 = Encoded(random, 40, 64).Slice(8, 17);
        float[] x = AllKernelPaths.RandomFloats(random, 100), h = AllKernelPaths.RandomFloats(random, 64), bias = AllKernelPaths.RandomFloats(random, 17);
        foreach (float[] xUsed in new[] { x, Array.Empty<float>() })
        {
            var actual = new float[17];
            MatrixVector.MultiplyPair(mode, w1, xUsed, w2, h, bias, actual);
            Assert.That(actual, Is.EqualTo(Reference(w1, xUsed, w2, h, bias)), $"x of {xUsed.Length}");
        }
    }

    [TestCaseSource(typeof(AllKernelPaths), nameof(AllKernelPaths.PathCases))]
    public void TheVectorIsQuantizedToSixtyFourLevelsRoundingHalfToEven(KernelPath path)
    {
        // max|v| = 2: scale 2/64, so v·32 rounded half to even; the pattern repeats past 32 and 64 elements, where the
        // x64 path rounds 32 at a time and leaves the rest to the scalar loop.
        float[] pattern = { 0.5f, -2f, 1f / 32, 1.5f / 32, 2.5f / 32, -0.5f / 32, 0f };
        float[] v = Enumerable.Range(0, 75).Select(i => pattern[i % pattern.Length]).ToArray();
        sbyte[] expected = Enumerable.Range(0, 75).Select(i => new sbyte[] { 16, -64, 1, 2, 2, 0, 0 }[i % pattern.Length]).ToArray();
        var quants = new sbyte[128];
        quants.AsSpan().Fill(99);
        var q = RowQ8MatrixVector.Quantize(path, v, quants);
        Assert.That(q.Scale, Is.EqualTo(2f / 64));
        Assert.That(quants.Take(75), Is.EqualTo(expected));
        Assert.That(quants.Skip(75), Is.All.EqualTo(0), "padding");
        Assert.That(q.Sum, Is.EqualTo(expected.Sum(e => e)));
        foreach (float[] silent in new[] { new float[40], new[] { float.Epsilon, -float.Epsilon } })
        {
            var none = RowQ8MatrixVector.Quantize(path, silent, quants);
            Assert.That((none.Scale, none.Sum), Is.EqualTo((0f, 0)));
            Assert.That(quants, Is.All.EqualTo(0));
        }
    }

    [Test]
    public void KeptRowsHoldTheFileWeightsPlus128PaddedWithZeroWeights()
    {
        var random = new Random(44);
        foreach (int columns in new[] { 1, 63, 64, 65, 130 })
        {
            ModelTensor tensor = ModelTensor.FromFloat32("w", new[] { 3, columns }, AllKernelPaths.RandomFloats(random, 3 * columns)).ConvertTo(TensorDType.Q8);
            byte[] bytes = tensor.Data.ToArray();
            bytes[^1] = 0x80; // −128 is a valid quant: kept as 0
            tensor = new ModelTensor("w", TensorDType.Q8, new[] { 3, columns }, bytes);
            WeightRows w = WeightRows.FromTensor(tensor, rowScaledQ8: true);
            float[] decoded = tensor.ToFloat32Array();
            Assert.That((w.RowScaledQuants, w.Stride, w.StoredBytes), Is.EqualTo((true, (columns + 63) / 64 * 64, 3L * ((columns + 63) / 64 * 64) + 3 * 4)));
            for (int r = 0; r < 3; r++)
            {
                for (int c = 0; c < columns; c++) Assert.That(w[r, c], Is.EqualTo(decoded[r * columns + c]), $"({r}, {c}) of {columns}");
                for (int c = columns; c < w.Stride; c++) Assert.That(w.QuantSpan[r * w.Stride + c], Is.EqualTo(sbyte.MinValue), "padding: a kept zero weight");
            }
            Assert.That(w.QuantSpan[2 * w.Stride + columns - 1], Is.EqualTo(0), "−128 kept as 0");
        }
    }

    [Test]
    public void BlockScalesAreNotRowScales()
    {
        var random = new Random(45);
        ModelTensor blocks = ModelTensor.FromFloat32("w", new[] { 3, 70 }, AllKernelPaths.RandomFloats(random, 210)).ConvertTo(TensorDType.Q8, Q8Scaling.PerBlock);
        Assert.That(TensorEncoding.HasRowScales(3, 70, blocks.Data.Span), Is.False);
        Assert.That(() => WeightRows.FromTensor(blocks, rowScaledQ8: true), Throws.ArgumentException.With.Message.Contain("more than one scale in a row"));
        WeightRows rowScaled = Encoded(random, 3, 70), blockScaled = WeightRows.FromTensor(blocks);
        float[] x = AllKernelPaths.RandomFloats(random, 70);
        Assert.That(() => MatrixVector.MultiplyPair(KernelMode.Best(false), blockScaled, x, rowScaled, x, new float[3], new float[3]), Throws.ArgumentException);
        Assert.That(() => MatrixVector.MultiplyPair(KernelMode.Best(false), rowScaled, x, blockScaled, x, new float[3], new float[3]), Throws.ArgumentException);
    }

    [Test]
    public void ConvertingBlockScaledQ8ToQ8ScalesItPerRow()
    {
        // export --dtype q8 of an older q8 file: quantized again per row from the decoded weights, so it runs the row
        // kernel; a row-scaled matrix is already what was asked for and is returned as it is.
        var random = new Random(46);
        ModelTensor blocks = ModelTensor.FromFloat32("w", new[] { 5, 100 }, AllKernelPaths.RandomFloats(random, 500)).ConvertTo(TensorDType.Q8, Q8Scaling.PerBlock);
        ModelTensor rows = blocks.ConvertTo(TensorDType.Q8);
        Assert.That(TensorEncoding.HasRowScales(5, 100, rows.Data.Span), Is.True);
        Assert.That(rows.ConvertTo(TensorDType.Q8), Is.SameAs(rows));
        Assert.That(blocks.ConvertTo(TensorDType.Q8, Q8Scaling.PerBlock), Is.SameAs(blocks));
        float[] before = blocks.ToFloat32Array(), after = rows.ToFloat32Array();
        for (int r = 0; r < 5; r++)
        {
            float halfStep = before.Skip(100 * r).Take(100).Max(Math.Abs) / 127f / 2;
            for (int c = 0; c < 100; c++) Assert.That(after[100 * r + c], Is.EqualTo(before[100 * r + c]).Within(halfStep * (1 + 1e-6f)), $"({r}, {c})");
        }
    }

    private static float[] Reference(in WeightRows w1, float[] x, in WeightRows w2, float[] h, float[] bias)
    {
        var xq = new sbyte[RowQ8MatrixVector.RowStride(x.Length)];
        var hq = new sbyte[RowQ8MatrixVector.RowStride(h.Length)];
        var y = new float[bias.Length];
        RowQ8MatrixVector.MultiplyPairScalar(w1, RowQ8MatrixVector.Quantize(KernelPath.Scalar, x, xq), w2, RowQ8MatrixVector.Quantize(KernelPath.Scalar, h, hq), bias, y);
        return y;
    }

    private static WeightRows ExactWeights(Random random, int rows, int columns)
    {
        var values = new float[rows * columns];
        for (int r = 0; r < rows; r++)
        for (int c = 0; c < columns; c++) values[r * columns + c] = (c == columns / 2 ? (random.Next(2) * 2 - 1) * 127 : random.Next(-127, 128)) / 128f;
        return WeightRows.FromTensor(ModelTensor.FromFloat32("w", new[] { rows, columns }, values).ConvertTo(TensorDType.Q8), rowScaledQ8: true);
    }

    private static float[] ExactVector(Random random, int length)
        => Enumerable.Range(0, length).Select(j => j == length - 1 ? random.Next(2) * 2 - 1f : random.Next(-64, 65) / 64f).ToArray();

    private static WeightRows Encoded(Random random, int rows, int columns)
        => WeightRows.FromTensor(ModelTensor.FromFloat32("w", new[] { rows, columns }, AllKernelPaths.RandomFloats(random, rows * columns, 0.5f)).ConvertTo(TensorDType.Q8), rowScaledQ8: true);

    private static (WeightRows W1, float[] X, WeightRows W2, float[] H, float[] Bias) RandomProblem(Random random, int rows, int n1, int n2)
        => (Encoded(random, rows, n1), AllKernelPaths.RandomFloats(random, n1), Encoded(random, rows, n2), AllKernelPaths.RandomFloats(random, n2), AllKernelPaths.RandomFloats(random, rows));
}
