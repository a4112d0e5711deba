using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TextGen.Runtime.Format;
using TextGen.Runtime.Kernels;

namespace TextGen.Tests.Kernels;

/// <summary>
/// The lane-panel tiles, 512- and 256-bit, give every session the bits of the single-session kernel of the same mode,
/// take every batch they should where the CPU runs their path (and decline it elsewhere), and decline what they cannot serve.
/// </summary>
internal sealed class LanePanelMatrixVectorTests
{
    private const float Gap = BatchedMatrixVectorTests.Gap;

    [Test]
    public void ThePanelHoldsEachLanesColumnsForSixteenRowsAndZerosPastTheEdges()
    {
        const int rows = 37, columns = 23;
        float[] values = AllKernelPaths.RandomFloats(new Random(40), rows * columns);
        WeightRows w = WeightRows.FromFloats(values, rows, columns);
        w.PrepareLanePanel();
        LanePanel panel = w.Panel ?? throw new AssertionException("no panel was made");
        Assert.That((panel.RowVectors, panel.Blocks), Is.EqualTo((3, 2)));
        ReadOnlySpan<float> stored = panel.Values.AsSpan();
        for (int v = 0; v < panel.RowVectors; v++)
        for (int lane = 0; lane < 16; lane++)
        for (int block = 0; block < panel.Blocks; block++)
        for (int r = 0; r < 16; r++)
        {
            int row = 16 * v + r, column = 16 * block + lane;
            float expected = row < rows && column < columns ? values[row * columns + column] : 0f;
            Assert.That(stored[panel.LaneStart(v, lane) + block * 16 + r], Is.EqualTo(expected), $"row {row}, column {column}");
        }
        var pin = System.Runtime.InteropServices.GCHandle.Alloc(panel.Values.Array, System.Runtime.InteropServices.GCHandleType.Pinned);
        long address = pin.AddrOfPinnedObject().ToInt64() + panel.Values.Offset * sizeof(float);
        pin.Free();
        Assert.That(address % 64, Is.Zero, "each 16-row column is one aligned 64-byte line");
        Assert.That(w.Slice(16, 5).Panel, Is.SameAs(panel), "a view shares its matrix's panel");
    }

    [Test]
    public void ThreadsPreparingOneMatrixTogetherMakeOnePanel()
    {
        WeightRows w = WeightRows.FromFloats(AllKernelPaths.RandomFloats(new Random(45), 300 * 70), 300, 70);
        var panels = new LanePanel?[8];
        Parallel.For(0, panels.Length, new ParallelOptions { MaxDegreeOfParallelism = panels.Length }, i =>
        {
            w.PrepareLanePanel();
            panels[i] = w.Panel;
        });
        Assert.That(panels, Is.All.SameAs(w.Panel).And.All.Not.Null);
    }

    [TestCase(KernelPath.Vector512, false)]
    [TestCase(KernelPath.Vector512, true)]
    [TestCase(KernelPath.Vector256, false)]
    [TestCase(KernelPath.Vector256, true)]
    public void TheTilesTakeTheBatchAndGiveEverySessionTheSingleSessionBits(KernelPath path, bool strict)
    {
        var mode = new KernelMode(path, strict);
        var random = new Random(41);
        foreach (int rows in new[] { 1, 16, 17, 47, 48, 49, 100 })
        foreach (var (n1, n2) in new[] { (0, 5), (7, 16), (16, 33), (33, 64), (20, 0) })
        // The 256-bit tiles take sessions in sixes and the rest in fours (SessionsInSixes): these leave every rest from
        // 1 to 5, and 14 takes a six, then two fours.
        foreach (int sessions in new[] { 5, 7, 8, 9, 10, 14, 17 })
        {
            Check(random, mode, rows, n1, n2, sessions, sharedBias: (rows + sessions) % 2 == 0, firstRow: 0, expectTaken: Runs(path));
        }
        // The shipped model's second layer for a crowd of 32.
        Check(random, mode, rows: 2048, n1: 512, n2: 512, sessions: 32, sharedBias: false, firstRow: 0, expectTaken: Runs(path));
    }

    [TestCase(KernelPath.Vector512)]
    [TestCase(KernelPath.Vector256)]
    public void ViewsStartingAtARowVectorTakeTheTilesAndOthersAreDeclinedWithTheSameBits(KernelPath path)
    {
        var mode = new KernelMode(path, strict: false);
        var random = new Random(42);
        // A GRU's gates are views of its matrices: 2H rows from 0, then H rows from 2H, which starts a row vector only
        // when H is a multiple of 8.
        Check(random, mode, rows: 40, n1: 24, n2: 24, sessions: 6, sharedBias: false, firstRow: 32, expectTaken: Runs(path));
        Check(random, mode, rows: 20, n1: 24, n2: 24, sessions: 6, sharedBias: true, firstRow: 40, expectTaken: false);
    }

    [Test]
    public void OtherModesTooFewSessionsMissingPanelsAndSmallWorkspacesAreDeclined()
    {
        var random = new Random(43);
        const int rows = 20, n1 = 16, n2 = 16, sessions = 5;
        var (w1, xs, w2, hs, biases) = Problem(random, rows, n1, n2, sessions, sharedBias: true, firstRow: 0);
        var ys = new float[sessions * rows];
        float[] workspace = new float[LanePanelMatrixVector.WorkspaceFloats(2, sessions)];
        bool Try(KernelMode mode, in WeightRows a, in WeightRows b, int count, Span<float> space)
            => LanePanelMatrixVector.TryMultiplyPair(mode, a, xs.AsSpan(0, count * n1), b, hs.AsSpan(0, count * n2), biases, 0, ys, rows, rows, count, space);
        var fast512 = new KernelMode(KernelPath.Vector512, strict: false);
        Assert.That(Try(fast512, w1, w2, sessions, workspace), Is.EqualTo(Avx512F.IsSupported), "the case that serves");
        Assert.That(Try(new KernelMode(KernelPath.Vector256, strict: false), w1, w2, sessions, workspace), Is.EqualTo(Vector256.IsHardwareAccelerated), "the 256-bit path");
        Assert.That(Try(new KernelMode(KernelPath.Vector, strict: false), w1, w2, sessions, workspace), Is.False, "the Vector<T> path");
        Assert.That(Try(new KernelMode(KernelPath.Scalar, strict: false), w1, w2, sessions, workspace), Is.False, "the scalar path");
        // The declines below hold on either path; they are checked on one this CPU serves, so that they can fail.
        var served = Avx512F.IsSupported ? fast512 : new KernelMode(KernelPath.Vector256, strict: false);
        Assert.That(Try(served, w1, w2, sessions, workspace), Is.EqualTo(Runs(served.Path)), "the path the declines are checked on serves");
        Assert.That(Try(served, w1, w2, LanePanelMatrixVector.MinSessions - 1, workspace), Is.False, "too few sessions");
        Assert.That(Try(served, w1, w2, sessions, workspace.AsSpan(0, workspace.Length - 1)), Is.False, "workspace one float short");
        WeightRows unprepared = WeightRows.FromFloats(w2.FloatSpan.ToArray(), rows, n2);
        Assert.That(Try(served, w1, unprepared, sessions, workspace), Is.False, "a matrix without its panel");
        WeightRows f16 = WeightRows.FromTensor(ModelTensor.FromFloat32("w", new[] { rows, n2 }, w2.FloatSpan.ToArray()).ConvertTo(TensorDType.F16));
        f16.PrepareLanePanel();
        Assert.That(f16.Panel, Is.Null, "f16 matrices have no panels");
    }

    [Test]
    public void The256BitTilesCoverEverySessionOnceAndStayWithinThePaddedSessions()
    {
        for (int sessions = 1; sessions <= 64; sessions++)
        {
            int sixes = LanePanelMatrixVector.SessionsInSixes(sessions), padded = LanePanelMatrixVector.PaddedSessions(sessions);
            var tiles = new List<(int First, int Count)>();
            for (int first = 0; first < sixes; first += 6) tiles.Add((first, 6));
            for (int first = sixes; first < sessions; first += 4) tiles.Add((first, 4));
            Assert.That(sixes % 6, Is.Zero, $"{sessions} sessions: sixes end on a tile");
            Assert.That(tiles, Has.All.Matches<(int First, int Count)>(t => t.First >= 0 && t.First < sessions && t.First + t.Count <= padded),
                $"{sessions} sessions: every tile starts on a real session and ends within the {padded} padded ones");
            var covered = tiles.SelectMany(t => Enumerable.Range(t.First, t.Count)).Where(s => s < sessions).ToList();
            Assert.That(covered, Is.EquivalentTo(Enumerable.Range(0, sessions)), $"{sessions} sessions: each covered once");
            if (sessions >= LanePanelMatrixVector.MinSessions)
                Assert.That(tiles.Count(t => t.Count == 4), Is.LessThanOrEqualTo(2), $"{sessions} sessions: at most two fours");
        }
    }

    [Test]
    public void TheWorkspaceHoldsThePackedInputsAndEveryGroupsPartialSums()
    {
        // 3 blocks × 16 lanes × 16 padded sessions, then 2 groups × 16 lanes × 24 vectors × 16 floats.
        Assert.That(LanePanelMatrixVector.WorkspaceFloats(blocks: 3, sessions: 9), Is.EqualTo(3 * 16 * 16 + 2 * 16 * 24 * 16));
    }

    [Test]
    public void PackingPutsEachLanesColumnsTogetherWithZerosForPaddingSessionsAndColumns()
    {
        const int sessions = 9, n1 = 20, n2 = 16, padded = 16;
        var random = new Random(44);
        float[] xs = AllKernelPaths.RandomFloats(random, sessions * n1), hs = AllKernelPaths.RandomFloats(random, sessions * n2);
        var packed = new float[(2 + 1) * 16 * padded];
        packed.AsSpan().Fill(float.NaN);
        LanePanelMatrixVector.Pack(xs, n1, hs, n2, sessions, padded, packed);
        for (int block = 0; block < 3; block++)
        for (int lane = 0; lane < 16; lane++)
        for (int s = 0; s < padded; s++)
        {
            bool isX = block < 2;
            int column = (isX ? block : block - 2) * 16 + lane, n = isX ? n1 : n2;
            float expected = s < sessions && column < n ? (isX ? xs : hs)[s * n + column] : 0f;
            Assert.That(packed[(lane * 3 + block) * padded + s], Is.EqualTo(expected), $"block {block}, lane {lane}, session {s}");
        }
    }

    // Whether this CPU runs the tiles of a path.
    private static bool Runs(KernelPath path) => path == KernelPath.Vector512 ? Avx512F.IsSupported : Vector256.IsHardwareAccelerated;

    // TryMultiplyPair against each session through MatrixVector's single-session kernel of the same mode, bit for bit,
    // with the outputs strided apart and the gaps left untouched; whether the tiles took the call is asserted too, and
    // a declined call is finished by BatchedMatrixVector, which must give the same bits.
    private static void Check(Random random, KernelMode mode, int rows, int n1, int n2, int sessions, bool sharedBias, int firstRow, bool expectTaken)
    {
        string what = $"rows {rows} from {firstRow}, n1 {n1}, n2 {n2}, sessions {sessions}";
        var (w1, xs, w2, hs, biases) = Problem(random, rows, n1, n2, sessions, sharedBias, firstRow);
        int biasStride = sharedBias ? 0 : rows;
        int yStride = rows + 2;
        var actual = new float[sessions * yStride];
        actual.AsSpan().Fill(Gap);
        int blocks = LanePanel.BlocksOf(n1) + LanePanel.BlocksOf(n2);
        float[] workspace = new float[LanePanelMatrixVector.WorkspaceFloats(blocks, sessions)];
        bool taken = LanePanelMatrixVector.TryMultiplyPair(mode, w1, xs, w2, hs, biases, biasStride, actual, yStride, rows, sessions, workspace);
        Assert.That(taken, Is.EqualTo(expectTaken), $"{what}: taken");
        if (!taken)
        {
            Assert.That(actual, Is.All.EqualTo(Gap), $"{what}: a declined call writes nothing");
            BatchedMatrixVector.MultiplyPair(mode, w1, xs, w2, hs, biases, biasStride, actual, yStride, rows, sessions, workspace);
        }
        BatchedMatrixVectorTests.AssertSingleSessionBits(mode, w1, xs, w2, hs, biases, biasStride, actual, yStride, rows, sessions, what);
    }

    // Matrices of firstRow + rows rows with their panels made, viewed from firstRow.
    private static (WeightRows W1, float[] Xs, WeightRows W2, float[] Hs, float[] Biases) Problem(Random random, int rows, int n1, int n2, int sessions, bool sharedBias, int firstRow)
    {
        WeightRows Matrix(int columns)
        {
            WeightRows whole = WeightRows.FromFloats(AllKernelPaths.RandomFloats(random, (firstRow + rows) * columns, 0.5f), firstRow + rows, columns);
            whole.PrepareLanePanel();
            return columns == 0 ? WeightRows.Empty : whole.Slice(firstRow, rows);
        }
        return (Matrix(n1), AllKernelPaths.RandomFloats(random, sessions * n1), Matrix(n2), AllKernelPaths.RandomFloats(random, sessions * n2),
            AllKernelPaths.RandomFloats(random, sharedBias ? rows : sessions * rows));
    }
}
