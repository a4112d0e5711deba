using System.Runtime.Intrinsics;
using TextGen.Runtime.Format;
using TextGen.Runtime.Kernels;

namespace TextGen.Tests.Kernels;

internal sealed class EncodedMatrixVectorTests
{
    private static readonly int[] RowCounts = { 0, 1, 3, 4, 5, 9, 17 };
    private static readonly int[] InputWidths = { 0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 64, 100 };
    private static readonly int[] HiddenWidths = { 0, 1, 16, 23, 40 };
    private static readonly TensorDType[] EncodedDTypes = { TensorDType.F16 }; // q8: Q8MatrixVectorTests

    private static IEnumerable<TestCaseData> ModesAndDTypes()
    {
        foreach (TensorDType dtype in EncodedDTypes)
        {
            foreach (TestCaseData mode in AllKernelPaths.Modes())
            {
                var kernelMode = (KernelMode)mode.Arguments[0]!;
                yield return new TestCaseData(kernelMode, dtype).SetArgDisplayNames($"{kernelMode.Path} {(kernelMode.Strict ? "strict" : "fast")}", dtype.ToString());
            }
        }
    }

    [TestCase(TensorDType.F16)]
    public void ScalarReferenceIsTheF32ReferenceOnDecodedWeights(TensorDType dtype)
    {
        var random = new Random(21);
        foreach (int rows in RowCounts)
        foreach (int n1 in InputWidths)
        foreach (int n2 in HiddenWidths)
        {
            var (w1, x, w2, h, bias) = RandomProblem(random, dtype, rows, n1, n2);
            var expected = new float[rows];
            var actual = new float[rows];
            MatrixVector.MultiplyPairScalar(Decoded(w1), x, Decoded(w2), h, bias, expected);
            EncodedMatrixVector.MultiplyPairScalar(w1, x, w2, h, bias, actual);
            Assert.That(actual.Select(BitConverter.SingleToInt32Bits), Is.EqualTo(expected.Select(BitConverter.SingleToInt32Bits)), $"rows {rows}, n1 {n1}, n2 {n2}");
        }
    }

    [TestCaseSource(nameof(ModesAndDTypes))]
    public void EveryPathMatchesTheScalarReference(KernelMode mode, TensorDType dtype)
    {
        var random = new Random(22);
        foreach (int rows in RowCounts)
        foreach (int n1 in InputWidths)
        foreach (int n2 in HiddenWidths)
        {
            var (w1, x, w2, h, bias) = RandomProblem(random, dtype, rows, n1, n2);
            var expected = new float[rows];
            var actual = new float[rows];
            EncodedMatrixVector.MultiplyPairScalar(w1, x, w2, h, bias, expected);
            MatrixVector.MultiplyPair(mode, w1, x, w2, h, bias, actual);
            for (int r = 0; r < rows; r++)
            {
                if (mode.Strict) Assert.That(BitConverter.SingleToInt32Bits(actual[r]), Is.EqualTo(BitConverter.SingleToInt32Bits(expected[r])), $"strict {mode.Path}: rows {rows}, n1 {n1}, n2 {n2}, row {r}");
                else Assert.That(actual[r], Is.EqualTo(expected[r]).Within(1e-5), $"{mode.Path}: rows {rows}, n1 {n1}, n2 {n2}, row {r}");
            }
        }
    }

    [TestCaseSource(nameof(ModesAndDTypes))]
    public void RowSlicesMultiplyLikeTheirRows(KernelMode mode, TensorDType dtype)
    {
        // GRU multiplies gate blocks of a matrix: a slice must address its own rows and q8 scales.
        var random = new Random(23);
        var (w, x, _, _, bias) = RandomProblem(random, dtype, 12, 40, 0);
        var whole = new float[12];
        var part = new float[5];
        MatrixVector.Multiply(mode, w, x, bias, whole);
        MatrixVector.Multiply(mode, w.Slice(7), x, bias.AsSpan(7), part);
        Assert.That(part, Is.EqualTo(whole.Skip(7)));
    }

    [TestCaseSource(typeof(AllKernelPaths), nameof(AllKernelPaths.Modes))]
    public void F16VectorsTooLargeToScaleStillMatchTheScalarReference(KernelMode mode)
    {
        // The wide paths multiply the vector by 2^112; an element of 2^16 or more would overflow, so such a vector
        // (never a hidden state, never an f16 embedding) must take the exact path instead.
        var random = new Random(27);
        var (w1, x, w2, h, bias) = RandomProblem(random, TensorDType.F16, 5, 40, 23);
        x[3] = 70000f;
        h[22] = -65536f;
        var expected = new float[5];
        var actual = new float[5];
        EncodedMatrixVector.MultiplyPairScalar(w1, x, w2, h, bias, expected);
        MatrixVector.MultiplyPair(mode, w1, x, w2, h, bias, actual);
        Assert.That(actual.All(float.IsFinite), Is.True);
        if (mode.Strict) Assert.That(actual, Is.EqualTo(expected));
        else Assert.That(actual, Is.EqualTo(expected).Within(1e-3).Percent); // 1e-5 relative
    }

    [TestCaseSource(typeof(AllKernelPaths), nameof(AllKernelPaths.Modes))]
    public void F16InBlockPairsMultipliesToTheBitsOfFileOrder(KernelMode mode)
    {
        // The 512-bit kernel's layout (WeightRows.PairedHalves) may change nothing but speed, on every path and in both
        // modes: row slices (a nonzero first row), x without h and h without x, and rows of 1 to 16 block pairs.
        var random = new Random(29);
        foreach (var (rows, n1, n2) in new[] { (9, 64, 32), (17, 0, 96), (4, 32, 512), (12, 64, 0) })
        {
            ModelTensor t1 = RandomTensor(random, rows, n1), t2 = RandomTensor(random, rows, n2);
            WeightRows file1 = WeightRows.FromTensor(t1), file2 = WeightRows.FromTensor(t2);
            WeightRows paired1 = WeightRows.FromTensor(t1, pairHalves: true), paired2 = WeightRows.FromTensor(t2, pairHalves: true);
            Assert.That((paired1.PairedHalves, paired2.PairedHalves, file2.PairedHalves), Is.EqualTo((n1 > 0, n2 > 0, false)));
            Assert.That(Decoded(paired1), Is.EqualTo(Decoded(file1)), "W1 reads as the file's values");
            Assert.That(Decoded(paired2), Is.EqualTo(Decoded(file2)), "W2 reads as the file's values");
            float[] x = AllKernelPaths.RandomFloats(random, n1), h = AllKernelPaths.RandomFloats(random, n2), bias = AllKernelPaths.RandomFloats(random, rows);
            foreach (int first in new[] { 0, 3 })
            {
                var expected = new float[rows - first];
                var actual = new float[rows - first];
                MatrixVector.MultiplyPair(mode, file1.Slice(first), x, file2.Slice(first), h, bias.AsSpan(first), expected);
                MatrixVector.MultiplyPair(mode, paired1.Slice(first), x, paired2.Slice(first), h, bias.AsSpan(first), actual);
                Assert.That(actual.Select(BitConverter.SingleToInt32Bits), Is.EqualTo(expected.Select(BitConverter.SingleToInt32Bits)), $"{mode.Path}: {rows}×({n1}+{n2}) from row {first}");
            }
        }
    }

    [TestCaseSource(typeof(AllKernelPaths), nameof(AllKernelPaths.Modes))]
    public void F16InMixedLayoutsTakesTheScalarReference(KernelMode mode)
    {
        // A model pairs all its f16 matrices or none; a product given one of each still gets the reference's bits.
        var random = new Random(30);
        ModelTensor t1 = RandomTensor(random, 8, 64), t2 = RandomTensor(random, 8, 40);
        WeightRows paired1 = WeightRows.FromTensor(t1, pairHalves: true), file2 = WeightRows.FromTensor(t2, pairHalves: true);
        Assert.That((paired1.PairedHalves, file2.PairedHalves), Is.EqualTo((true, false)), "40 columns are no whole pair");
        float[] x = AllKernelPaths.RandomFloats(random, 64), h = AllKernelPaths.RandomFloats(random, 40), bias = AllKernelPaths.RandomFloats(random, 8);
        var expected = new float[8];
        var actual = new float[8];
        EncodedMatrixVector.MultiplyPairScalar(WeightRows.FromTensor(t1), x, file2, h, bias, expected);
        MatrixVector.MultiplyPair(mode, paired1, x, file2, h, bias, actual);
        Assert.That(actual.Select(BitConverter.SingleToInt32Bits), Is.EqualTo(expected.Select(BitConverter.SingleToInt32Bits)));
    }

    [Test]
    public void BlockPairsPutColumnIAndSixteenPlusIInOneWord()
    {
        const int columns = 96;
        ushort[] halves = Enumerable.Range(0, 2 * columns).Select(i => (ushort)i).ToArray(); // two rows, each element its index
        Float16.InterleaveBlockPairs(halves, columns);
        for (int r = 0; r < 2; r++)
        for (int c = 0; c < columns; c++)
        {
            int position = Float16.PairedPosition(c);
            Assert.That(halves[r * columns + position], Is.EqualTo(r * columns + c), $"row {r}, column {c}");
            int pair = c / 32 * 32, i = c % 16;
            Assert.That(position, Is.EqualTo(pair + 2 * i + (c % 32 < 16 ? 0 : 1)), "low half of word i: column i; high half: 16 + i");
        }
        var random = new Random(31);
        ushort[] original = Enumerable.Range(0, 5 * 64).Select(_ => (ushort)random.Next(1 << 16)).ToArray();
        ushort[] vectorized = original.ToArray(), scalar = original.ToArray();
        Float16.InterleaveBlockPairs(vectorized, 64);
        Float16.InterleaveBlockPairsScalar(scalar);
        Assert.That(vectorized, Is.EqualTo(scalar), "the vector path moves every half where the reference does");
        Assert.That(scalar.Select((h, i) => (int)h), Is.EqualTo(Enumerable.Range(0, original.Length).Select(i => (int)original[i - i % 64 + Enumerable.Range(0, 64).First(c => Float16.PairedPosition(c) == i % 64)])));
        Assert.Throws<ArgumentException>(() => Float16.InterleaveBlockPairs(new ushort[40], 40));
        Assert.Throws<ArgumentException>(() => Float16.InterleaveBlockPairs(new ushort[48], 32));
    }

    [Test]
    public void HalvesDecodeExactlyFromTheTopOfTheirWords()
    {
        // Every finite half, as the high half of a word whose low half is another half (garbage to the decode).
        var finite = Enumerable.Range(0, 1 << 16).Where(b => (b & 0x7C00) != 0x7C00).Select(b => (ushort)b).ToArray();
        for (int i = 0; i + 16 <= finite.Length; i += 16)
        {
            int[] words = Enumerable.Range(0, 16).Select(k => (finite[i + k] << 16) | finite[(i + 7 * k + 5) % finite.Length]).ToArray();
            Vector512<float> v16 = Float16.ToScaledSingleFromHigh(Vector512.Create(words)) * Float16.ExponentRebias;
            Vector256<float> low = Float16.ToScaledSingleFromHigh(Vector256.Create(words.AsSpan(0, 8))) * Float16.ExponentRebias;
            Vector256<float> high = Float16.ToScaledSingleFromHigh(Vector256.Create(words.AsSpan(8, 8))) * Float16.ExponentRebias;
            for (int k = 0; k < 16; k++)
            {
                int expected = BitConverter.SingleToInt32Bits(Float16.ToSingle(finite[i + k]));
                Assert.That(BitConverter.SingleToInt32Bits(v16[k]), Is.EqualTo(expected), $"half {finite[i + k]:X4}");
                Assert.That(BitConverter.SingleToInt32Bits(k < 8 ? low[k] : high[k - 8]), Is.EqualTo(expected), $"half {finite[i + k]:X4}, 256-bit");
            }
        }
    }

    [Test]
    public void MixedDTypesAndShapeMismatchAreRefused()
    {
        var random = new Random(24);
        var (f16, x, _, _, bias) = RandomProblem(random, TensorDType.F16, 3, 8, 0);
        var (q8, _, _, _, _) = RandomProblem(random, TensorDType.Q8, 3, 8, 0);
        var y = new float[3];
        Assert.Throws<ArgumentException>(() => MatrixVector.MultiplyPair(KernelMode.Best(true), f16, x, q8, x, bias, y));
        Assert.Throws<ArgumentException>(() => MatrixVector.Multiply(KernelMode.Best(true), f16, new float[7], bias, y));
    }

    [Test]
    public void HalvesWidenExactlyForEveryFinitePattern()
    {
        var finite = Enumerable.Range(0, 1 << 16).Where(b => (b & 0x7C00) != 0x7C00).Select(b => (ushort)b).ToArray();
        var expected = finite.Select(b => BitConverter.SingleToInt32Bits((float)BitConverter.UInt16BitsToHalf(b))).ToArray();
        Assert.That(finite.Select(b => BitConverter.SingleToInt32Bits(Float16.ToSingle(b))), Is.EqualTo(expected));

        var wide = new int[finite.Length];
        for (int i = 0; i + 16 <= finite.Length; i += 16)
        {
            short[] block = finite.AsSpan(i, 16).ToArray().Select(b => (short)b).ToArray();
            Vector512<float> v16 = Float16.ToSingle(Float16.Widen(Vector256.Create(block)));
            Vector256<float> v8 = Float16.ToSingle(Float16.Widen(Vector128.Create(block.AsSpan(0, 8))));
            for (int k = 0; k < 16; k++) wide[i + k] = BitConverter.SingleToInt32Bits(v16[k]);
            for (int k = 0; k < 8; k++) Assert.That(BitConverter.SingleToInt32Bits(v8[k]), Is.EqualTo(expected[i + k]));
        }
        int whole = finite.Length - finite.Length % 16;
        Assert.That(wide.Take(whole), Is.EqualTo(expected.Take(whole)));
    }

    [Test]
    public void SubnormalHalvesAreShiftedToNormalOnesThatReadBackExactly()
    {
        // Every finite half below 64 (exponent field up to 20), subnormals included: a shift of 10 leaves none subnormal.
        ushort[] original = Enumerable.Range(0, 1 << 16).Where(b => (b & 0x7C00) <= (20 << 10)).Select(b => (ushort)b).ToArray();
        ushort[] stored = original.ToArray();
        int shift = Float16.SubnormalFreeShift(stored);
        Assert.That(shift, Is.EqualTo(10));
        var copied = new ushort[original.Length];
        Float16.ScaleByPowerOfTwo(original, copied, shift); // into another array, as the load does
        Float16.ScaleByPowerOfTwo(stored, stored, shift);   // in place
        Assert.That(copied, Is.EqualTo(stored), "copying and scaling in one pass gives the in-place result");
        Assert.That(stored.Where(b => (b & 0x7C00) == 0 && (b & 0x3FF) != 0), Is.Empty, "no stored half is subnormal");
        Assert.That(stored.Select(b => BitConverter.SingleToInt32Bits(Float16.ToSingle(b) * Float16.PowerOfTwo(-shift))),
            Is.EqualTo(original.Select(b => BitConverter.SingleToInt32Bits((float)BitConverter.UInt16BitsToHalf(b)))), "each reads back as the file's value");

        // The largest exponent limits the shift: 2^10 (exponent field 25) leaves room for 5, 65504 for none.
        Assert.That(Float16.SubnormalFreeShift(new ushort[] { 0x0001, 25 << 10, 0x8000 }), Is.EqualTo(5));
        Assert.That(Float16.SubnormalFreeShift(new ushort[] { 0x0001, 0x7BFF }), Is.EqualTo(0));
        // Without subnormals nothing moves.
        Assert.That(Float16.SubnormalFreeShift(new ushort[] { 0x3C00, 0x0000, 0x8000, 0x0400 }), Is.EqualTo(0));
    }

    [TestCaseSource(typeof(AllKernelPaths), nameof(AllKernelPaths.Modes))]
    public void F16WeightsWithSubnormalsAreStoredShiftedAndMultiplyAsTheFileSays(KernelMode mode)
    {
        // Every fifth weight a subnormal half (k · 2^-24): the rows keep them as normal halves times 2^10, and every
        // path still computes with the file's values, against the scalar reference over the decoded file.
        var random = new Random(28);
        foreach (var (rows, n1, n2) in new[] { (9, 33, 40), (17, 0, 512), (4, 64, 16) })
        {
            ModelTensor Tensor(int columns) => ModelTensor.FromFloat32("w", new[] { rows, columns },
                AllKernelPaths.RandomFloats(random, rows * columns, 0.5f).Select((v, i) => i % 5 == 0 ? (i % 3 - 1) * (1 + i % 1000) * 5.9604645e-08f : v).ToArray()).ConvertTo(TensorDType.F16);
            ModelTensor t1 = Tensor(n1), t2 = Tensor(n2);
            WeightRows w1 = WeightRows.FromTensor(t1), w2 = WeightRows.FromTensor(t2);
            Assert.That(w2.HalfShift, Is.EqualTo(10), "the matrix had subnormals");
            float[] fileValues = t2.ToFloat32Array();
            Assert.That(Decoded(w2).Select(BitConverter.SingleToInt32Bits), Is.EqualTo(fileValues.Select(BitConverter.SingleToInt32Bits)), "the rows read as the file's values");

            float[] x = AllKernelPaths.RandomFloats(random, n1), h = AllKernelPaths.RandomFloats(random, n2), bias = AllKernelPaths.RandomFloats(random, rows);
            var expected = new float[rows];
            var actual = new float[rows];
            MatrixVector.MultiplyPairScalar(Decoded(w1), x, fileValues, h, bias, expected);
            MatrixVector.MultiplyPair(mode, w1, x, w2, h, bias, actual);
            if (mode.Strict) Assert.That(actual.Select(BitConverter.SingleToInt32Bits), Is.EqualTo(expected.Select(BitConverter.SingleToInt32Bits)), $"strict {mode.Path}: {rows}×({n1}+{n2})");
            else Assert.That(actual, Is.EqualTo(expected).Within(1e-5), $"{mode.Path}: {rows}×({n1}+{n2})");
        }
    }

    [Test]
    public void FloatsRoundToTheNearestHalfLikeSystemHalf()
    {
        var random = new Random(25);
        var values = new List<float> { 0f, -0f, 65504f, 65519.99f, 65520f, -65520f, 6.1035156e-05f, 5.9604645e-08f, 2.9802322e-08f, 2.9802326e-08f, 1e-9f, float.NaN, float.PositiveInfinity };
        for (int i = 0; i < 200_000; i++) values.Add(BitConverter.Int32BitsToSingle(random.Next()) * (random.Next(2) == 0 ? 1 : -1));
        for (int i = 0; i < 200_000; i++) values.Add((float)((random.NextDouble() * 2 - 1) * Math.Pow(2, random.Next(-26, 17))));
        foreach (float value in values)
        {
            ushort expected = BitConverter.HalfToUInt16Bits((Half)value);
            if (float.IsNaN(value)) Assert.That(Half.IsNaN(BitConverter.UInt16BitsToHalf(Float16.FromSingle(value))), Is.True);
            else Assert.That(Float16.FromSingle(value), Is.EqualTo(expected), $"{value:R}");
        }
    }

    [TestCase(1, 32, Q8Scaling.PerBlock)]
    [TestCase(3, 31, Q8Scaling.PerBlock)]
    [TestCase(5, 70, Q8Scaling.PerBlock)]
    [TestCase(64, 512, Q8Scaling.PerBlock)]
    [TestCase(1, 32, Q8Scaling.PerRow)]
    [TestCase(5, 70, Q8Scaling.PerRow)]
    [TestCase(64, 512, Q8Scaling.PerRow)]
    public void Q8ElementsAreWithinHalfTheirScale(int rows, int columns, Q8Scaling scaling)
    {
        var random = new Random(26);
        float[] values = AllKernelPaths.RandomFloats(random, rows * columns, 0.3f);
        values[0] = 2f; // one outlier spoils only its own block, or row
        var tensor = ModelTensor.FromFloat32("w", new[] { rows, columns }, values).ConvertTo(TensorDType.Q8, scaling);
        Assert.That(tensor.Data.Length, Is.EqualTo(rows * columns + 4 * rows * ((columns + 31) / 32)));
        Assert.That(TensorEncoding.HasRowScales(rows, columns, tensor.Data.Span), Is.EqualTo(scaling == Q8Scaling.PerRow || columns <= 32));
        WeightRows w = WeightRows.FromTensor(tensor);
        float[] decoded = tensor.ToFloat32Array();
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++)
            {
                float scale = w.Scales[r * w.BlocksPerRow + c / 32];
                int first = scaling == Q8Scaling.PerRow ? 0 : c / 32 * 32;
                float largest = values.Skip(r * columns + first).Take(scaling == Q8Scaling.PerRow ? columns : Math.Min(32, columns - first)).Max(Math.Abs);
                Assert.That(scale, Is.EqualTo(largest / 127f));
                Assert.That(Math.Abs(decoded[r * columns + c] - values[r * columns + c]), Is.LessThanOrEqualTo(scale * 0.5f * (1 + 1e-6f)), $"({r}, {c})");
                Assert.That(w[r, c], Is.EqualTo(decoded[r * columns + c]));
            }
        }
    }

    private static float[] Decoded(in WeightRows w)
    {
        var values = new float[w.Rows * w.Columns];
        for (int r = 0; r < w.Rows; r++)
        for (int c = 0; c < w.Columns; c++) values[r * w.Columns + c] = w[r, c];
        return values;
    }

    private static ModelTensor RandomTensor(Random random, int rows, int columns)
        => ModelTensor.FromFloat32("w", new[] { rows, columns }, AllKernelPaths.RandomFloats(random, rows * columns, 0.5f)).ConvertTo(TensorDType.F16);

    private static WeightRows Encoded(Random random, TensorDType dtype, int rows, int columns)
        => WeightRows.FromTensor(ModelTensor.FromFloat32("w", new[] { rows, columns }, AllKernelPaths.RandomFloats(random, rows * columns, 0.5f)).ConvertTo(dtype));

    private static (WeightRows W1, float[] X, WeightRows W2, float[] H, float[] Bias) RandomProblem(Random random, TensorDType dtype, int rows, int n1, int n2)
        => (Encoded(random, dtype, rows, n1), AllKernelPaths.RandomFloats(random, n1), Encoded(random, dtype, rows, n2), AllKernelPaths.RandomFloats(random, n2), AllKernelPaths.RandomFloats(random, rows));
}
