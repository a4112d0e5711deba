using TextGen.Runtime.Format;
using TextGen.Runtime.Kernels;

namespace TextGen.Tests.Kernels;

internal sealed class Q8MatrixVectorTests
{
    // The AVX2 kernel: under 8 rows the scalar order, 8 one tile, 9 and 17 a last tile that overlaps the one before.
    private static readonly int[] RowCounts = { 0, 1, 3, 4, 5, 8, 9, 17 };
    private static readonly int[] InputWidths = { 0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 64, 100, 512 };
    private static readonly int[] HiddenWidths = { 0, 1, 16, 23, 40, 64 };

    private static readonly Q8Layout[] Layouts = Enum.GetValues<Q8Layout>();

    /// <summary>Every path and mode with the weights in every layout (each path must give its bits from any, at worst through the scalar reference).</summary>
    private static IEnumerable<TestCaseData> ModesAndLayouts()
    {
        foreach (Q8Layout layout in Layouts)
        foreach (TestCaseData mode in AllKernelPaths.Modes())
        {
            yield return new TestCaseData(mode.Arguments[0], layout).SetArgDisplayNames($"{mode.ArgDisplayNames![0]}, {layout}");
        }
    }

    [TestCaseSource(nameof(ModesAndLayouts))]
    public void EveryPathMatchesTheScalarReference(KernelMode mode, Q8Layout layout)
    {
        var random = new Random(31);
        foreach (int rows in RowCounts)
        foreach (int n1 in InputWidths)
        foreach (int n2 in HiddenWidths)
        {
            var (w1, x, w2, h, bias) = RandomProblem(random, rows, n1, n2, layout);
            float[] expected = Reference(w1, x, w2, h, bias);
            var actual = new float[rows];
            MatrixVector.MultiplyPair(mode, w1, x, w2, h, bias, actual);
            AssertMatchesReference(mode, actual, expected, $"rows {rows}, n1 {n1}, n2 {n2}");
        }
    }

    [TestCaseSource(nameof(ModesAndLayouts))]
    public void ExactlyRepresentableProblemsGiveTheF32ProductOfTheDecodedWeights(KernelMode mode, Q8Layout layout)
    {
        // Weights k/128 with a ±127/128 in every block (scale exactly 2^-7) and vector elements small integers with a
        // ±127 in every block (scale 1): quantizing is exact and every sum is an exact float, so the q8 kernel must
        // give exactly what the f32 kernel gives on the decoded weights, whatever its order. This checks the
        // products themselves (columns paired with the right vector elements, signs, blocks), not just the order.
        var random = new Random(32);
        foreach (int rows in new[] { 1, 4, 7 })
        foreach (int n1 in new[] { 0, 32, 45, 96 })
        foreach (int n2 in new[] { 0, 31, 64 })
        {
            WeightRows w1 = ExactWeights(random, rows, n1, layout), w2 = ExactWeights(random, rows, n2, layout);
            float[] x = ExactVector(random, n1), h = ExactVector(random, n2);
            float[] bias = AllKernelPaths.RandomFloats(random, rows).Select(b => MathF.Round(b * 64) / 64).ToArray();
            var expected = new float[rows];
            var actual = new float[rows];
            MatrixVector.MultiplyPairScalar(Decoded(w1), x, Decoded(w2), h, bias, expected);
            MatrixVector.MultiplyPair(mode, w1, x, w2, h, bias, actual);
            Assert.That(actual, Is.EqualTo(expected), $"rows {rows}, n1 {n1}, n2 {n2}");
        }
    }

    [TestCaseSource(nameof(ModesAndLayouts))]
    public void TheMostNegativeQuantMultipliesCorrectly(KernelMode mode, Q8Layout layout)
    {
        // Writers clamp to ±127, but a file may hold −128; vpsignb would turn −128 · −1 into −128 again.
        const int columns = 64;
        var bytes = new byte[2 * sizeof(float) + columns];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 4), 0.5f);
        BitConverter.TryWriteBytes(bytes.AsSpan(4, 4), 0.25f);
        for (int c = 0; c < columns; c++) bytes[8 + c] = unchecked((byte)(sbyte)(c % 3 == 0 ? -128 : c - 40));
        WeightRows w = WeightRows.FromTensor(new ModelTensor("w", TensorDType.Q8, new[] { 1, columns }, bytes), layout);
        Assert.That(w.SymmetricQuants, Is.False, "the AVX2 kernel must keep the signs on the vector");
        float[] x = Enumerable.Range(0, columns).Select(c => c % 2 == 0 ? -1f : (c - 32) / 127f).ToArray();
        var actual = new float[1];
        MatrixVector.Multiply(mode, w, x, new[] { 0f }, actual);
        Assert.That(actual[0], Is.EqualTo(Reference(w, x, WeightRows.Empty, Array.Empty<float>(), new[] { 0f })[0]).Within(1e-5));
        double exact = Enumerable.Range(0, columns).Sum(c => (double)w[0, c] * x[c]);
        Assert.That(actual[0], Is.EqualTo(exact).Within(0.5), "−128 · −1 must count as +128");
    }

    [TestCaseSource(nameof(ModesAndLayouts))]
    public void TilesOfARowSliceMatchTheScalarReferenceWithAndWithoutTheMostNegativeQuant(KernelMode mode, Q8Layout layout)
    {
        // The tile kernels start from a slice's first row (a gate block of a GRU or LSTM matrix) and, where a quant is
        // −128, keep the signs on the vector: rows 8..24 of 40, x of 100 columns (odd and short blocks), h of 64.
        var random = new Random(38);
        foreach (bool mostNegative in new[] { false, true })
        {
            WeightRows w1 = Sliced(random, 100, mostNegative, layout), w2 = Sliced(random, 64, mostNegative, layout);
            Assert.That(w1.SymmetricQuants && w2.SymmetricQuants, Is.EqualTo(!mostNegative));
            float[] x = AllKernelPaths.RandomFloats(random, 100), h = AllKernelPaths.RandomFloats(random, 64), bias = AllKernelPaths.RandomFloats(random, 17);
            foreach (bool withX in new[] { true, false })
            {
                float[] xUsed = withX ? x : Array.Empty<float>();
                float[] expected = Reference(w1, xUsed, w2, h, bias);
                var actual = new float[17];
                MatrixVector.MultiplyPair(mode, w1, xUsed, w2, h, bias, actual);
                AssertMatchesReference(mode, actual, expected, $"−128 {mostNegative}, x {withX}");
            }
        }

        static WeightRows Sliced(Random random, int columns, bool mostNegative, Q8Layout layout)
        {
            const int rows = 40;
            byte[] bytes = ModelTensor.FromFloat32("w", new[] { rows, columns }, AllKernelPaths.RandomFloats(random, rows * columns, 0.5f)).ConvertTo(TensorDType.Q8, Q8Scaling.PerBlock).Data.ToArray();
            int quants = bytes.Length - rows * columns; // the quants follow the scales
            if (mostNegative) for (int i = 3; i < rows * columns; i += 37) bytes[quants + i] = 0x80;
            return WeightRows.FromTensor(new ModelTensor("w", TensorDType.Q8, new[] { rows, columns }, bytes), layout).Slice(8, 17);
        }
    }

    [Test]
    public void QuantsAreSymmetricUnlessOneIsTheMostNegative()
    {
        // Every writer rounds to ±127, so its matrices take the kernel that moves signs onto the weights.
        var random = new Random(37);
        ModelTensor written = ModelTensor.FromFloat32("w", new[] { 3, 70 }, AllKernelPaths.RandomFloats(random, 210)).ConvertTo(TensorDType.Q8, Q8Scaling.PerBlock);
        Assert.That(WeightRows.FromTensor(written).SymmetricQuants, Is.True);
        Assert.That(WeightRows.FromTensor(written).Slice(1, 2).SymmetricQuants, Is.True);
        byte[] bytes = written.Data.ToArray();
        bytes[^1] = 0x80; // the last quant of the last row: −128
        var edited = new ModelTensor("w", TensorDType.Q8, new[] { 3, 70 }, bytes);
        Assert.That(WeightRows.FromTensor(edited).SymmetricQuants, Is.False);
        foreach (Q8Layout layout in Layouts) Assert.That(WeightRows.FromTensor(edited, layout).SymmetricQuants, Is.False, layout.ToString());
    }

    [Test]
    public void EveryLayoutHoldsTheSameWeightsAndGivesTheSameBits()
    {
        var random = new Random(36);
        foreach (int columns in new[] { 31, 32, 64, 100, 128, 160, 170 })
        {
            ModelTensor tensor = ModelTensor.FromFloat32("w", new[] { 5, columns }, AllKernelPaths.RandomFloats(random, 5 * columns, 0.5f)).ConvertTo(TensorDType.Q8, Q8Scaling.PerBlock);
            WeightRows fileOrder = WeightRows.FromTensor(tensor);
            WeightRows lanes = WeightRows.FromTensor(tensor, Q8Layout.LaneInterleaved), pairs = WeightRows.FromTensor(tensor, Q8Layout.PairInterleaved);
            Assert.That((fileOrder.Q8Layout, lanes.Q8Layout, pairs.Q8Layout), Is.EqualTo((Q8Layout.FileOrder, Q8Layout.LaneInterleaved, Q8Layout.PairInterleaved)));
            for (int r = 0; r < 5; r++)
            for (int c = 0; c < columns; c++)
            {
                Assert.That(lanes[r, c], Is.EqualTo(fileOrder[r, c]), $"lane-interleaved, columns {columns}, ({r}, {c})");
                Assert.That(pairs[r, c], Is.EqualTo(fileOrder[r, c]), $"pair-interleaved, columns {columns}, ({r}, {c})");
            }
            // Lane-interleaved: column 4k+j of a whole block is kept at 8j+k; a short last block stays where it was.
            if (columns >= 32)
            {
                Assert.That(lanes.QuantSpan[1 * 8 + 0], Is.EqualTo(fileOrder.QuantSpan[1]));
                Assert.That(lanes.QuantSpan[3 * 8 + 7], Is.EqualTo(fileOrder.QuantSpan[31]));
                Assert.That(lanes.QuantSpan.ToArray(), Is.Not.EqualTo(fileOrder.QuantSpan.ToArray()));
            }
            else
            {
                Assert.That(lanes.QuantSpan.ToArray(), Is.EqualTo(fileOrder.QuantSpan.ToArray()));
            }
            // Pair-interleaved: columns 4k..4k+3 of the first block of a pair at 8k.., of the second at 8k+4..; an odd
            // last whole block and a short last block stay where they were.
            int paired = columns / 64 * 64;
            if (paired > 0)
            {
                Assert.That(pairs.QuantSpan.Slice(0, 4).ToArray(), Is.EqualTo(fileOrder.QuantSpan.Slice(0, 4).ToArray()));
                Assert.That(pairs.QuantSpan.Slice(4, 4).ToArray(), Is.EqualTo(fileOrder.QuantSpan.Slice(32, 4).ToArray()));
                Assert.That(pairs.QuantSpan.Slice(8, 4).ToArray(), Is.EqualTo(fileOrder.QuantSpan.Slice(4, 4).ToArray()));
                Assert.That(pairs.QuantSpan.Slice(60, 4).ToArray(), Is.EqualTo(fileOrder.QuantSpan.Slice(60, 4).ToArray()));
                Assert.That(pairs.QuantSpan.Slice(56, 4).ToArray(), Is.EqualTo(fileOrder.QuantSpan.Slice(28, 4).ToArray()));
            }
            for (int r = 0; r < 5; r++)
            {
                Assert.That(pairs.QuantSpan.Slice(r * columns + paired, columns - paired).ToArray(), Is.EqualTo(fileOrder.QuantSpan.Slice(r * columns + paired, columns - paired).ToArray()), $"columns {columns}, row {r}: the unpaired rest");
            }
            float[] x = AllKernelPaths.RandomFloats(random, columns), bias = AllKernelPaths.RandomFloats(random, 5);
            float[] expected = Reference(fileOrder, x, WeightRows.Empty, Array.Empty<float>(), bias);
            Assert.That(Reference(lanes, x, WeightRows.Empty, Array.Empty<float>(), bias), Is.EqualTo(expected), $"lane-interleaved, columns {columns}");
            Assert.That(Reference(pairs, x, WeightRows.Empty, Array.Empty<float>(), bias), Is.EqualTo(expected), $"pair-interleaved, columns {columns}");
        }
    }

    [TestCaseSource(typeof(AllKernelPaths), nameof(AllKernelPaths.PathCases))]
    public void QuantizationIsIdenticalOnEveryPath(KernelPath path)
    {
        var random = new Random(33);
        foreach (int length in new[] { 0, 1, 31, 32, 33, 64, 100, 512 })
        {
            float[] v = AllKernelPaths.RandomFloats(random, length);
            // exact halves (ties) must round to even on every path
            for (int j = 0; j < length; j += 5) v[j] = (j % 7 - 3) / 2f;
            if (length > 40) v.AsSpan(32, 8).Clear();
            if (length >= 64) v.AsSpan(32, 32).Clear(); // a block of zeros
            if (length >= 100) v.AsSpan(64, 32).Fill(1e-39f); // subnormal: 127 / max overflows, so scale 0 and zeros
            if (length >= 512)
            {
                // A block whose max is 127, so the values are multiplied by exactly 1 and halves stay exact ties.
                float[] ties = [127f, 0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 3.5f, -3.5f, 126.5f, -126.5f];
                ties.CopyTo(v.AsSpan(128));
            }
            var (expectedQ, expectedS) = Quantized(KernelPath.Scalar, v);
            var (actualQ, actualS) = Quantized(path, v);
            Assert.That(actualQ, Is.EqualTo(expectedQ), $"length {length}");
            Assert.That(actualS, Is.EqualTo(expectedS), $"length {length}");
        }
    }

    [Test]
    public void QuantizedElementsAreWithinHalfTheirBlockStep()
    {
        var random = new Random(34);
        float[] v = AllKernelPaths.RandomFloats(random, 200);
        v[0] = 3f;           // one outlier coarsens only its own block
        v[64] = 1e-40f;      // a subnormal block maximum: 127 / max overflows, the block quantizes to zero
        v.AsSpan(65, 31).Clear();
        var (q, s) = Quantized(KernelPath.Scalar, v);
        Assert.That(q.Length, Is.EqualTo(224));
        Assert.That(q.Skip(200), Is.All.Zero, "padding");
        Assert.That(s[2], Is.Zero);
        for (int j = 0; j < v.Length; j++)
        {
            int b = j / 32;
            Assert.That(Math.Abs(q[j]), Is.LessThanOrEqualTo(127));
            if (b != 2) Assert.That(Math.Abs(q[j] * s[b] - v[j]), Is.LessThanOrEqualTo(s[b] * 0.5f * (1 + 1e-5f)), $"element {j}");
        }
        Assert.That(s[0], Is.EqualTo(3f / 127f));
    }

    [Test]
    public void TheResultIsCloseToTheF32ProductOfTheDecodedWeights()
    {
        // The vector's quantization adds at most half a step (max|v| / 254) per element: over 512 products of
        // weights below 0.5 that bounds the error by 512 · 0.5 · 1/254 ≈ 1; random signs make it ~√512 times smaller.
        var random = new Random(35);
        var (w, x, _, _, bias) = RandomProblem(random, 64, 512, 0);
        var expected = new float[64];
        var actual = new float[64];
        MatrixVector.MultiplyPairScalar(Decoded(w), x, Array.Empty<float>(), Array.Empty<float>(), bias, expected);
        MatrixVector.Multiply(KernelMode.Best(strict: false), w, x, bias, actual);
        for (int r = 0; r < 64; r++) Assert.That(actual[r], Is.EqualTo(expected[r]).Within(0.05), $"row {r}");
        Assert.That(actual, Is.Not.EqualTo(expected), "the vector is quantized too");
    }

    /// <summary>Strict mode gives the scalar reference's bits; fast mode may sum in another order, so it stays within 1e-5.</summary>
    private static void AssertMatchesReference(KernelMode mode, float[] actual, float[] expected, string where)
    {
        for (int r = 0; r < expected.Length; r++)
        {
            if (mode.Strict) Assert.That(BitConverter.SingleToInt32Bits(actual[r]), Is.EqualTo(BitConverter.SingleToInt32Bits(expected[r])), $"strict {mode.Path}: {where}, row {r}");
            else Assert.That(actual[r], Is.EqualTo(expected[r]).Within(1e-5), $"{mode.Path}: {where}, row {r}");
        }
    }

    private static float[] Reference(in WeightRows w1, float[] x, in WeightRows w2, float[] h, float[] bias)
    {
        var (xq, xs) = Quantized(KernelPath.Scalar, x);
        var (hq, hs) = Quantized(KernelPath.Scalar, h);
        var y = new float[bias.Length];
        Q8MatrixVector.MultiplyPairScalar(w1, new QuantizedVector(xq, xs), w2, new QuantizedVector(hq, hs), bias, y);
        return y;
    }

    private static (sbyte[] Quants, float[] Scales) Quantized(KernelPath path, float[] v)
    {
        int blocks = TensorEncoding.Q8BlocksPerRow(v.Length);
        var q = new sbyte[blocks * 32];
        var s = new float[blocks];
        Q8MatrixVector.Quantize(path, v, q, s);
        return (q, s);
    }

    private static WeightRows ExactWeights(Random random, int rows, int columns, Q8Layout layout)
    {
        var values = new float[rows * columns];
        for (int r = 0; r < rows; r++)
        for (int c = 0; c < columns; c++) values[r * columns + c] = (c % 32 == 5 || c == columns - 1 ? (random.Next(2) * 2 - 1) * 127 : random.Next(-127, 128)) / 128f;
        return WeightRows.FromTensor(ModelTensor.FromFloat32("w", new[] { rows, columns }, values).ConvertTo(TensorDType.Q8, Q8Scaling.PerBlock), layout);
    }

    private static float[] ExactVector(Random random, int length)
        => Enumerable.Range(0, length).Select(j => j % 32 == 3 || j == length - 1 ? (random.Next(2) * 2 - 1) * 127f : random.Next(-127, 128)).ToArray();

    private static float[] Decoded(in WeightRows w)
    {
        var values = new float[w.Rows * w.Columns];
        for (int r = 0; r < w.Rows; r++)
        for (int c = 0; c < w.Columns; c++) values[r * w.Columns + c] = w[r, c];
        return values;
    }

    private static WeightRows Encoded(Random random, int rows, int columns, Q8Layout layout = Q8Layout.FileOrder)
        => WeightRows.FromTensor(ModelTensor.FromFloat32("w", new[] { rows, columns }, AllKernelPaths.RandomFloats(random, rows * columns, 0.5f)).ConvertTo(TensorDType.Q8, Q8Scaling.PerBlock), layout);

    private static (WeightRows W1, float[] X, WeightRows W2, float[] H, float[] Bias) RandomProblem(Random random, int rows, int n1, int n2, Q8Layout layout = Q8Layout.FileOrder)
        => (Encoded(random, rows, n1, layout), AllKernelPaths.RandomFloats(random, n1), Encoded(random, rows, n2, layout), AllKernelPaths.RandomFloats(random, n2), AllKernelPaths.RandomFloats(random, rows));
}
