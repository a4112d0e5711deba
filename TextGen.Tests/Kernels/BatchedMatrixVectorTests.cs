using TextGen.Runtime.Format;
using TextGen.Runtime.Kernels;

namespace TextGen.Tests.Kernels;

/// <summary>The batched kernels give every session exactly the bits of the single-session kernel of the same path and mode.</summary>
internal sealed class BatchedMatrixVectorTests
{
    private static readonly int[] RowCounts = { 1, 2, 3, 4, 5, 17 };
    private static readonly int[] InputWidths = { 0, 7, 16, 33 };
    private static readonly int[] HiddenWidths = { 0, 5, 16, 23 };
    private static readonly int[] SessionCounts = { 1, 2, 3, 5, 8 };
    internal const float Gap = 12345f; // fills the output between sessions' rows, which the kernels must not touch

    private static IEnumerable<TestCaseData> ModesAndDTypes()
    {
        foreach (TensorDType dtype in new[] { TensorDType.F32, TensorDType.F16, TensorDType.Q8 })
        {
            foreach (TestCaseData mode in AllKernelPaths.Modes())
            {
                var kernelMode = (KernelMode)mode.Arguments[0]!;
                yield return new TestCaseData(kernelMode, dtype).SetArgDisplayNames($"{kernelMode.Path} {(kernelMode.Strict ? "strict" : "fast")}", dtype.ToString());
            }
        }
    }

    [TestCaseSource(nameof(ModesAndDTypes))]
    public void EverySessionGetsTheBitsOfTheSingleSessionKernel(KernelMode mode, TensorDType dtype)
    {
        var random = new Random(31);
        foreach (int rows in RowCounts)
        foreach (int n1 in InputWidths)
        foreach (int n2 in HiddenWidths)
        foreach (int sessions in SessionCounts)
        {
            Check(random, mode, dtype, rows, n1, n2, sessions, sharedBias: (rows + sessions) % 2 == 0, $"rows {rows}, n1 {n1}, n2 {n2}, sessions {sessions}");
        }
    }

    [TestCaseSource(nameof(ModesAndDTypes))]
    public void PanelsAndSessionGroupsOfLargeMatricesSumAsOneSessionDoes(KernelMode mode, TensorDType dtype)
    {
        // 512 + 512 columns make 4 KB rows of f32 input: the 256-bit path then tiles 4-session groups and panels of 63
        // rows (f32) or 126 (f16), so 260 rows and 9 sessions cross both boundaries and leave a short row tile and an odd
        // session; 67 rows leave a tile of one row.
        Check(new Random(32), mode, dtype, rows: 260, n1: 512, n2: 512, sessions: 9, sharedBias: true, "large");
        Check(new Random(33), mode, dtype, rows: 67, n1: 0, n2: 1000, sessions: 11, sharedBias: false, "large, tails");
        // 16 KB rows of input: the 512-bit path's f32 groups hold 24 sessions, so 30 cross a group boundary; its f16
        // groups would hold none, so f16 falls back to the 256-bit tiles.
        Check(new Random(36), mode, dtype, rows: 7, n1: 24, n2: 4000, sessions: 30, sharedBias: false, "512-bit groups");
    }

    [TestCaseSource(typeof(AllKernelPaths), nameof(AllKernelPaths.Modes))]
    public void F16InBlockPairsBatchesToTheSingleSessionBits(KernelMode mode)
    {
        // The paired layout (WeightRows.PairedHalves) through the 512-bit 6 × 4 tiles (3 sessions and more; fewer, or
        // where those tiles decline, go one session at a time) and the single-session kernel they must equal; rows from 0,
        // and from row 3 of a larger matrix (a GRU's gate slices).
        foreach (var (rows, n1, n2, sessions, first) in new[] { (260, 512, 512, 9, 0), (7, 32, 64, 5, 0), (13, 0, 96, 2, 0), (9, 64, 0, 4, 0), (9, 0, 64, 5, 3), (10, 32, 32, 6, 3) })
        {
            var random = new Random(37 + rows);
            WeightRows w1 = PairedMatrix(random, rows + first, n1).Slice(first), w2 = PairedMatrix(random, rows + first, n2).Slice(first);
            Assert.That(w1.PairedHalves || n1 == 0, Is.True);
            Assert.That(w2.PairedHalves || n2 == 0, Is.True);
            float[] xs = AllKernelPaths.RandomFloats(random, sessions * n1), hs = AllKernelPaths.RandomFloats(random, sessions * n2), biases = AllKernelPaths.RandomFloats(random, sessions * rows);
            var actual = new float[sessions * (rows + 2)];
            actual.AsSpan().Fill(Gap);
            BatchedMatrixVector.MultiplyPair(mode, w1, xs, w2, hs, biases, rows, actual, rows + 2, rows, sessions);
            AssertSingleSessionBits(mode, w1, xs, w2, hs, biases, rows, actual, rows + 2, rows, sessions, $"{mode.Path} paired f16: {rows}×({n1}+{n2}), {sessions} sessions");
        }
    }

    [TestCase(TensorDType.F32, false)]
    [TestCase(TensorDType.F32, true)]
    [TestCase(TensorDType.F16, false)]
    [TestCase(TensorDType.F16, true)]
    public void TheSixRowByFourSessionTilesTakeTheBatchAndSumAsOneSessionDoes(TensorDType dtype, bool strict)
    {
        // Called directly, so a tile that declined (and left the batch to the 256-bit tiles) would fail here.
        var mode = new KernelMode(KernelPath.Vector512, strict);
        var random = new Random(37);
        foreach (var (rows, n1, n2, sessions) in new[] { (1, 7, 5, 1), (6, 16, 16, 4), (13, 33, 23, 9), (17, 64, 0, 3), (5, 0, 512, 6), (260, 512, 512, 9) })
        {
            var (w1, xs, w2, hs, biases) = Problem(random, dtype, rows, n1, n2, sessions, sharedBias: false);
            var actual = new float[sessions * rows];
            bool took = dtype == TensorDType.F32
                ? strict
                    ? BatchedMatrixVector.MultiplyPairVector512<Float32Weights, RoundedMultiplyAdd>(new Float32Weights(w1), w1, xs, new Float32Weights(w2), w2, hs, biases, rows, actual, rows, rows, sessions)
                    : BatchedMatrixVector.MultiplyPairVector512<Float32Weights, FusedMultiplyAdd>(new Float32Weights(w1), w1, xs, new Float32Weights(w2), w2, hs, biases, rows, actual, rows, rows, sessions)
                : strict
                    ? BatchedMatrixVector.MultiplyPairVector512<Float16Weights, RoundedMultiplyAdd>(new Float16Weights(w1), w1, xs, new Float16Weights(w2), w2, hs, biases, rows, actual, rows, rows, sessions)
                    : BatchedMatrixVector.MultiplyPairVector512<Float16Weights, FusedMultiplyAdd>(new Float16Weights(w1), w1, xs, new Float16Weights(w2), w2, hs, biases, rows, actual, rows, rows, sessions);
            Assert.That(took, Is.True, $"rows {rows}, n1 {n1}, n2 {n2}, sessions {sessions}: the tiles declined");
            var expected = new float[sessions * rows];
            BatchedMatrixVector.MultiplyPairEachSession(mode, w1, xs, w2, hs, biases, rows, expected, rows, rows, sessions);
            Assert.That(actual.Select(BitConverter.SingleToInt32Bits), Is.EqualTo(expected.Select(BitConverter.SingleToInt32Bits)), $"rows {rows}, n1 {n1}, n2 {n2}, sessions {sessions}");
        }
    }

    [TestCaseSource(typeof(AllKernelPaths), nameof(AllKernelPaths.Modes))]
    public void RowScaledQ8BatchesGiveEverySessionTheSingleSessionBits(KernelMode mode)
    {
        // Row-scaled q8 (what the exporter writes) in the batched tiles of 4 rows × 2 sessions, which serve AVX2: a last row tile that overlaps the one before (5, 7, 65 rows), a last tile of one session (3, 5, 9,
        // 33), rows of 1 to 9 whole 64-byte lines, either vector absent, and a GRU's gate slice (rows 3.. of a matrix).
        // Under 4 rows or 2 sessions, and on the other paths, the batch goes one session at a time.
        var random = new Random(38);
        foreach (var (rows, n1, n2, sessions, first) in new[]
        {
            (4, 1, 0, 2, 0), (5, 31, 40, 3, 0), (7, 0, 129, 5, 0), (8, 64, 64, 2, 0), (65, 0, 512, 33, 0), (260, 576, 512, 9, 0),
            (10, 65, 100, 4, 3), (3, 20, 20, 4, 0), (12, 100, 30, 1, 0),
        })
        {
            WeightRows w1 = RowScaledMatrix(random, rows + first, n1).Slice(first), w2 = RowScaledMatrix(random, rows + first, n2).Slice(first);
            float[] xs = AllKernelPaths.RandomFloats(random, sessions * n1), hs = AllKernelPaths.RandomFloats(random, sessions * n2);
            bool sharedBias = sessions % 2 == 0;
            float[] biases = AllKernelPaths.RandomFloats(random, sharedBias ? rows : sessions * rows);
            int biasStride = sharedBias ? 0 : rows, yStride = rows + 2;
            string what = $"{mode.Path} {(mode.Strict ? "strict" : "fast")} row-scaled q8: {rows}×({n1}+{n2}) from row {first}, {sessions} sessions";
            // The workspace starts as garbage: every value the tiles read must be written first.
            float[] workspace = AllKernelPaths.RandomFloats(random, RowQ8MatrixVector.BatchWorkspaceFloats(n1, n2, sessions), 1e6f);
            var actual = new float[sessions * yStride];
            actual.AsSpan().Fill(Gap);
            BatchedMatrixVector.MultiplyPair(mode, w1, xs, w2, hs, biases, biasStride, actual, yStride, rows, sessions, workspace);
            AssertSingleSessionBits(mode, w1, xs, w2, hs, biases, biasStride, actual, yStride, rows, sessions, what);
            // Called directly, so that tiles declining where they should serve (and the batch going one session at a time) fail here.
            // AVX2, on the 256-bit path, and on the 512-bit one where the single-session kernel has no 512-bit integer multiply-adds.
            bool avx2Tiles = mode.Path == KernelPath.Vector256 || (mode.Path == KernelPath.Vector512 && !System.Runtime.Intrinsics.X86.Avx512BW.IsSupported);
            bool serves = avx2Tiles && System.Runtime.Intrinsics.X86.Avx2.IsSupported && sessions >= 2 && rows >= 4;
            actual.AsSpan().Fill(Gap);
            Assert.That(RowQ8MatrixVector.TryMultiplyPairBatch(mode, w1, xs, w2, hs, biases, biasStride, actual, yStride, rows, sessions, workspace), Is.EqualTo(serves), what);
            if (serves) AssertSingleSessionBits(mode, w1, xs, w2, hs, biases, biasStride, actual, yStride, rows, sessions, what + ", called directly");
        }
    }

    [Test]
    public void RowScaledQ8TilesDeclineAShortWorkspaceOrABlockScaledMatrix()
    {
        var mode = new KernelMode(KernelPath.Vector256, strict: false);
        var random = new Random(39);
        WeightRows rowScaled = RowScaledMatrix(random, 8, 40), blockScaled = Matrix(random, TensorDType.Q8, 8, 40);
        float[] xs = AllKernelPaths.RandomFloats(random, 4 * 40), biases = new float[8], ys = new float[4 * 8];
        int floats = RowQ8MatrixVector.BatchWorkspaceFloats(40, 0, 4);
        Assert.That(RowQ8MatrixVector.TryMultiplyPairBatch(mode, rowScaled, xs, WeightRows.Empty, default, biases, 0, ys, 8, 8, 4, new float[floats - 1]), Is.False, "a workspace one float short");
        Assert.That(RowQ8MatrixVector.TryMultiplyPairBatch(mode, blockScaled, xs, WeightRows.Empty, default, biases, 0, ys, 8, 8, 4, new float[floats]), Is.False, "block scales");
        Assert.That(ys, Is.All.Zero, "a declined call writes nothing");
        Assert.That(RowQ8MatrixVector.TryMultiplyPairBatch(mode, rowScaled, xs, WeightRows.Empty, default, biases, 0, ys, 8, 8, 4, new float[floats]),
            Is.EqualTo(System.Runtime.Intrinsics.X86.Avx2.IsSupported), "the same call with its workspace, where AVX2 serves it");
    }

    [TestCaseSource(typeof(AllKernelPaths), nameof(AllKernelPaths.Modes))]
    public void RowScaledQ8BatchesNeitherSaturateNorLoseTheirSign(KernelMode mode)
    {
        // Kept weights 0 and 255 (−128 and +127) against quants of ±64 in every session, vpmaddubsw's largest pairs: each
        // (row, session) sum is exact in float, so every output must be the exact product.
        const int rows = 9, columns = 200, sessions = 5;
        var bytes = new byte[rows * 4 * TensorEncoding.Q8BlocksPerRow(columns) + rows * columns];
        int quants = bytes.Length - rows * columns;
        for (int i = 0; i < quants; i += 4) BitConverter.TryWriteBytes(bytes.AsSpan(i, 4), 1f); // every block of a row scaled alike
        for (int i = 0; i < rows * columns; i++) bytes[quants + i] = unchecked((byte)(sbyte)((i / 3 + i / columns) % 2 == 0 ? -128 : 127));
        WeightRows w = WeightRows.FromTensor(new ModelTensor("w", TensorDType.Q8, new[] { rows, columns }, bytes), rowScaledQ8: true);
        Assert.That(w.RowScaledQuants, Is.True);
        // Quants ±64 and scale 1/64, the signs flipped in every other session.
        float[] vs = Enumerable.Range(0, sessions * columns).Select(i => (i % columns % 4 < 2) == (i / columns % 2 == 0) ? -1f : 1f).ToArray();
        var actual = new float[sessions * rows];
        BatchedMatrixVector.MultiplyPair(mode, WeightRows.Empty, default, w, vs, new float[rows], 0, actual, rows, rows, sessions, new float[RowQ8MatrixVector.BatchWorkspaceFloats(0, columns, sessions)]);
        for (int s = 0; s < sessions; s++)
        for (int r = 0; r < rows; r++)
        {
            Assert.That(actual[s * rows + r], Is.EqualTo((float)Enumerable.Range(0, columns).Sum(c => (double)w[r, c] * vs[s * columns + c])), $"session {s}, row {r}");
        }
    }

    [TestCaseSource(typeof(AllKernelPaths), nameof(AllKernelPaths.Modes))]
    public void F16SessionsBeyondTheScalableRangeGetTheSingleSessionBitsToo(KernelMode mode)
    {
        // An f16 embedding can hold values past 65,536 only in a hostile file; the tiles hand such a batch to the
        // one-session path. Session 2 of 5 carries one: every session must still get the single-session bits.
        Check(new Random(35), mode, TensorDType.F16, rows: 9, n1: 20, n2: 33, sessions: 5, sharedBias: false, "huge input", hugeInputSession: 2);
    }

    [TestCase(KernelPath.Scalar)]
    [TestCase(KernelPath.Vector)]
    [TestCase(KernelPath.Vector256)]
    [TestCase(KernelPath.Vector512)]
    public void StrictBatchesEqualTheScalarReference(KernelPath path)
    {
        var random = new Random(34);
        var (w1, xs, w2, hs, biases) = Problem(random, TensorDType.F32, rows: 9, n1: 20, n2: 33, sessions: 4, sharedBias: false);
        var actual = new float[4 * 9];
        BatchedMatrixVector.MultiplyPair(new KernelMode(path, strict: true), w1, xs, w2, hs, biases, 9, actual, 9, 9, 4);
        for (int s = 0; s < 4; s++)
        {
            var expected = new float[9];
            MatrixVector.MultiplyPairScalar(w1.FloatSpan, xs.AsSpan(s * 20, 20), w2.FloatSpan, hs.AsSpan(s * 33, 33), biases.AsSpan(s * 9, 9), expected);
            Assert.That(actual.Skip(s * 9).Take(9).Select(BitConverter.SingleToInt32Bits), Is.EqualTo(expected.Select(BitConverter.SingleToInt32Bits)), $"session {s}");
        }
    }

    [Test]
    public void ShapeMismatchesAreRefused()
    {
        var mode = new KernelMode(KernelPath.Vector256, strict: false);
        WeightRows w = WeightRows.FromFloats(new float[3 * 4], 3, 4);
        var ys = new float[6];
        var bias = new float[3];
        Assert.Throws<ArgumentException>(() => BatchedMatrixVector.MultiplyPair(mode, w, new float[7], WeightRows.Empty, default, bias, 0, ys, 3, 3, 2), "x of 2 sessions is 8 floats");
        Assert.Throws<ArgumentException>(() => BatchedMatrixVector.MultiplyPair(mode, w, new float[8], WeightRows.Empty, default, bias, 3, ys, 3, 3, 2), "per-session biases need 6 floats");
        Assert.Throws<ArgumentException>(() => BatchedMatrixVector.MultiplyPair(mode, w, new float[8], WeightRows.Empty, default, bias, 0, ys, 2, 3, 2), "overlapping outputs");
        Assert.Throws<ArgumentException>(() => BatchedMatrixVector.MultiplyPair(mode, w, new float[8], WeightRows.Empty, default, bias, 0, new float[5], 3, 3, 2), "too short an output");
        Assert.Throws<ArgumentException>(() => BatchedMatrixVector.MultiplyPairVector256<Float32Weights, FusedMultiplyAdd>(new Float32Weights(w), w, new float[6], default, WeightRows.Empty, default, bias, 0, ys, 3, 3, 2), "x of 2 sessions for 4 columns is 8 floats");
        Assert.Throws<ArgumentException>(() => BatchedMatrixVector.MultiplyPairVector512<Float32Weights, FusedMultiplyAdd>(new Float32Weights(w), w, new float[6], default, WeightRows.Empty, default, bias, 0, ys, 3, 3, 2), "the 512-bit tiles check it too");
    }

    // The batched call against each session through MatrixVector's single-session kernel of the same mode, bit for bit,
    // with the outputs strided apart and the gaps left untouched.
    // hugeInputSession: that session's x gets one element past f16's scalable range (100,000).
    private static void Check(Random random, KernelMode mode, TensorDType dtype, int rows, int n1, int n2, int sessions, bool sharedBias, string what, int hugeInputSession = -1)
    {
        var (w1, xs, w2, hs, biases) = Problem(random, dtype, rows, n1, n2, sessions, sharedBias);
        if (hugeInputSession >= 0) xs[hugeInputSession * n1 + n1 / 2] = 100_000f;
        int biasStride = sharedBias ? 0 : rows;
        int yStride = rows + 2;
        var actual = new float[sessions * yStride];
        actual.AsSpan().Fill(Gap);
        BatchedMatrixVector.MultiplyPair(mode, w1, xs, w2, hs, biases, biasStride, actual, yStride, rows, sessions);
        AssertSingleSessionBits(mode, w1, xs, w2, hs, biases, biasStride, actual, yStride, rows, sessions, $"{mode.Path} {dtype}: {what}");
    }

    /// <summary>
    /// Each session's rows of <paramref name="actual"/> against <see cref="MatrixVector"/>'s single-session kernel of the
    /// same mode, bit for bit, and the two floats after each session's rows still <see cref="Gap"/>.
    /// </summary>
    internal static void AssertSingleSessionBits(KernelMode mode, in WeightRows w1, float[] xs, in WeightRows w2, float[] hs, float[] biases, int biasStride,
        float[] actual, int yStride, int rows, int sessions, string what)
    {
        int n1 = xs.Length / sessions, n2 = hs.Length / sessions;
        for (int s = 0; s < sessions; s++)
        {
            var expected = new float[rows];
            MatrixVector.MultiplyPair(mode, w1, xs.AsSpan(s * n1, n1), w2, hs.AsSpan(s * n2, n2), biases.AsSpan(s * biasStride, rows), expected);
            Assert.That(actual.Skip(s * yStride).Take(rows).Select(BitConverter.SingleToInt32Bits), Is.EqualTo(expected.Select(BitConverter.SingleToInt32Bits)), $"{what}, session {s}");
            Assert.That(actual.Skip(s * yStride + rows).Take(2), Is.All.EqualTo(Gap), $"{what}: the gap after session {s}");
        }
    }

    private static (WeightRows W1, float[] Xs, WeightRows W2, float[] Hs, float[] Biases) Problem(Random random, TensorDType dtype, int rows, int n1, int n2, int sessions, bool sharedBias)
        => (Matrix(random, dtype, rows, n1), AllKernelPaths.RandomFloats(random, sessions * n1), Matrix(random, dtype, rows, n2),
            AllKernelPaths.RandomFloats(random, sessions * n2), AllKernelPaths.RandomFloats(random, sharedBias ? rows : sessions * rows));

    private static WeightRows PairedMatrix(Random random, int rows, int columns)
        => WeightRows.FromTensor(ModelTensor.FromFloat32("w", new[] { rows, columns }, AllKernelPaths.RandomFloats(random, rows * columns, 0.5f)).ConvertTo(TensorDType.F16), pairHalves: true);

    private static WeightRows RowScaledMatrix(Random random, int rows, int columns)
        => WeightRows.FromTensor(ModelTensor.FromFloat32("w", new[] { rows, columns }, AllKernelPaths.RandomFloats(random, rows * columns, 0.5f)).ConvertTo(TensorDType.Q8, Q8Scaling.PerRow), rowScaledQ8: true);

    // q8 with block scales: kept for the block kernel, whose scales then differ along a row (row-scaled q8 has its own tests above, and GeneratorBatchTests
    // run row-scaled models).
    private static WeightRows Matrix(Random random, TensorDType dtype, int rows, int columns)
        => WeightRows.FromTensor(ModelTensor.FromFloat32("w", new[] { rows, columns }, AllKernelPaths.RandomFloats(random, rows * columns, 0.5f)).ConvertTo(dtype, Q8Scaling.PerBlock));
}
