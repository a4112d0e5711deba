#if NET8_0_OR_GREATER
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TextGen.Runtime.Kernels;

/// <summary>
/// <see cref="BatchedMatrixVector"/>'s fastest f32 form on AVX-512 and AVX2: <c>y_s = W1·x_s + W2·h_s + bias_s</c> with the
/// rows, not the columns, in a vector's lanes, reading both matrices' <see cref="LanePanel"/>s.
/// <para>
/// A tile is 3 row vectors (48 rows) × 8 sessions: 24 accumulators, each holding one of <see cref="FixedOrderSum"/>'s
/// lanes for 16 rows of one session. Per column: three 64-byte weight loads and eight broadcast inputs serve 24
/// multiply-adds, and no horizontal sum is left for the end. The tile runs lane 0's columns, stores its 24 partial
/// sums, then lane 1's, …; the 16 partial sums of each row and session then meet in the lane tree, vectorized over
/// 16 rows (15 adds for 16 rows, where a column-vectorized tile spends its 14 shuffles and adds per 4). Each lane adds
/// its x columns, then its h columns, in column order: the single-session kernels' order, so the bits are theirs
/// (fused multiply-adds in fast mode, rounded ones in strict mode, as the 512-bit kernels).
/// </para>
/// <para>
/// Order: for each tile of rows, for each lane, every group of 8 sessions in turn, so the tile's lane (12 KB at 1,024
/// columns) comes from L3 for the first group and from L1 for the others, while each group hints the next lane's
/// weights. The sessions' inputs are first packed lane by lane, sessions side by side (<see cref="Pack"/>), and stay
/// in L2. On the shipped model's two layers' products for 32 sessions, with the packing, this ran at 1.05–1.15× the
/// column-vectorized 6 × 4 tile in the same process (seven runs, each the median of 9 alternating rounds;
/// docs/performance-history.md).
/// </para>
/// <para>
/// On the 256-bit path (AVX2, 16 registers) a tile is one row vector × 6 sessions instead, and hints nothing: see
/// <see cref="Tiles.Run256{TMultiplyAdd}"/>.
/// </para>
/// </summary>
internal static class LanePanelMatrixVector
{
    private const int Lanes = FixedOrderSum.Lanes;
    private const int TileRowVectors = 3;
    private const int GroupSessions = 8;
    private const int TileAccumulators = TileRowVectors * GroupSessions;
    private const int PartialFloats = Lanes * TileAccumulators * Lanes; // one group's partial sums: 16 lanes × 24 vectors

    /// <summary>
    /// Fewer sessions leave half a tile's 8 idle or more: 4 ran at 0.90 of the column-vectorized tiles, which serve
    /// them; 5 ran at 1.06–1.11, 8 at 1.09 and 32 at 1.14 (512-bit, docs/performance-history.md). The 256-bit tiles
    /// share the threshold: with 2, 3 and 4 sessions, served by tiles of 2 and 4 in a trial build, the shipped model's
    /// batch steps ran 0.67–0.69×, 0.87–1.09× and 0.95–1.13× as fast as through the column tiles (three alternating
    /// runs of `batch-scaling`, docs/performance-history.md, session 29).
    /// </summary>
    public const int MinSessions = 5;

    /// <summary>
    /// The workspace floats a call needs for <paramref name="sessions"/> sessions over matrices whose columns take
    /// <paramref name="blocks"/> 16-column blocks in all (x's and h's): the packed inputs, then every group's partial sums.
    /// </summary>
    public static int WorkspaceFloats(int blocks, int sessions)
    {
        int padded = PaddedSessions(sessions);
        return blocks * Lanes * padded + padded / GroupSessions * PartialFloats;
    }

    /// <summary>Whether calls in <paramref name="mode"/> with this many sessions take these tiles, given f32 panels and a workspace.</summary>
    public static bool Serves(KernelMode mode, int sessions)
        => sessions >= MinSessions && mode.Path switch
        {
            KernelPath.Vector512 => Avx512F.IsSupported,
            KernelPath.Vector256 => Vector256.IsHardwareAccelerated,
            _ => false,
        };

    /// <summary>
    /// The product for <paramref name="sessions"/> sessions with the matrices' lane panels, shapes already checked by
    /// <see cref="BatchedMatrixVector.MultiplyPair"/>. Returns false, having written nothing, where it does not apply:
    /// another path or dtype, a CPU without that path (AVX-512F, or 256-bit vectors), too few sessions, a matrix without a panel (or a view not starting at a
    /// row vector), or a <paramref name="workspace"/> too small.
    /// </summary>
    public static bool TryMultiplyPair(KernelMode mode, in WeightRows w1, ReadOnlySpan<float> xs, in WeightRows w2, ReadOnlySpan<float> hs,
        ReadOnlySpan<float> biases, int biasStride, Span<float> ys, int yStride, int rows, int sessions, Span<float> workspace)
    {
        if (!Serves(mode, sessions) || rows == 0) return false;
        int n1 = xs.Length / sessions, n2 = hs.Length / sessions;
        LanePanel? p1 = n1 > 0 ? UsablePanel(w1) : null, p2 = n2 > 0 ? UsablePanel(w2) : null;
        if ((n1 > 0 && p1 is null) || (n2 > 0 && p2 is null) || n1 + n2 == 0) return false;
        int blocks1 = LanePanel.BlocksOf(n1), blocks2 = LanePanel.BlocksOf(n2);
        if (workspace.Length < WorkspaceFloats(blocks1 + blocks2, sessions)) return false;
        int padded = PaddedSessions(sessions);
        Span<float> packed = workspace.Slice(0, (blocks1 + blocks2) * Lanes * padded);
        Span<float> partials = workspace.Slice(packed.Length, padded / GroupSessions * PartialFloats);
        Pack(xs, n1, hs, n2, sessions, padded, packed);
        var tiles = new Tiles(p1, w1.FirstRow / Lanes, blocks1, p2, w2.FirstRow / Lanes, blocks2, padded);
        if (mode.Path == KernelPath.Vector256)
        {
            // The 256-bit single-session kernels fuse as FusesAt256Bits says; the 512-bit ones whenever not strict.
            if (mode.FusesAt256Bits) tiles.Run256<FusedMultiplyAdd>(packed, partials, biases, biasStride, ys, yStride, rows, sessions);
            else tiles.Run256<RoundedMultiplyAdd>(packed, partials, biases, biasStride, ys, yStride, rows, sessions);
        }
        else if (mode.Strict) tiles.Run<RoundedMultiplyAdd>(packed, partials, biases, biasStride, ys, yStride, rows, sessions);
        else tiles.Run<FusedMultiplyAdd>(packed, partials, biases, biasStride, ys, yStride, rows, sessions);
        return true;
    }

    internal static int PaddedSessions(int sessions) => (sessions + GroupSessions - 1) / GroupSessions * GroupSessions;

    /// <summary>
    /// How the 256-bit tiles split <paramref name="sessions"/>: sessions 0 .. result−1 in tiles of 6, the rest in tiles
    /// of 4. A rest of 5 takes one more six, and a rest of 1 or 2 one six less, to make two fours. The padded sessions
    /// are a multiple of 8, so an odd count has a padding session to round up to, and no tile reaches past them.
    /// </summary>
    internal static int SessionsInSixes(int sessions)
    {
        int sixes = sessions / 6 * 6;
        return (sessions - sixes) switch
        {
            5 => sixes + 6,
            1 or 2 when sixes >= 6 => sixes - 6,
            _ => sixes,
        };
    }

    private static LanePanel? UsablePanel(in WeightRows w)
        => w.Panel is { } panel && panel.Holds(w) && w.FirstRow % Lanes == 0 ? panel : null;

    /// <summary>
    /// The inputs lane by lane, each lane's columns in order: element <c>((l·blocks + i)·padded + s)</c> is session s's
    /// value of column 16i + l, i running over x's blocks, then h's (blocks in all); zero past a vector's end and for
    /// the padding sessions. A tile reads one lane's columns, so they are adjacent (<c>padded</c> floats apart): laid
    /// out block by block, 16 lanes apart, a lane's columns were 2 KB apart at 32 sessions and all fell in 2 of L1's 64
    /// sets, so every broadcast input missed L1. Whole blocks of 8 sessions move as two 8 × 8 transposes, the rest one
    /// value at a time.
    /// </summary>
    internal static void Pack(ReadOnlySpan<float> xs, int n1, ReadOnlySpan<float> hs, int n2, int sessions, int padded, Span<float> packed)
    {
        int blocks1 = LanePanel.BlocksOf(n1);
        int laneFloats = (blocks1 + LanePanel.BlocksOf(n2)) * padded; // from one lane's columns to the next lane's
        packed = packed.Slice(0, Lanes * laneFloats); // the unchecked transposes below stay inside
        for (int part = 0; part < 2; part++)
        {
            ReadOnlySpan<float> v = part == 0 ? xs : hs;
            int n = part == 0 ? n1 : n2, firstBlock = part == 0 ? 0 : blocks1;
            for (int block = 0; block < LanePanel.BlocksOf(n); block++)
            {
                Span<float> lane0 = packed.Slice((firstBlock + block) * padded);
                int start = block * Lanes;
                for (int g = 0; g < padded; g += GroupSessions)
                {
                    if (start + Lanes <= n && g + GroupSessions <= sessions)
                    {
                        ref float source = ref Unsafe.AsRef(in v[g * n + start]);
                        ref float destination = ref lane0[g];
                        Transpose8(ref source, n, ref destination, laneFloats);
                        Transpose8(ref Unsafe.Add(ref source, GroupSessions), n, ref Unsafe.Add(ref destination, GroupSessions * laneFloats), laneFloats);
                        continue;
                    }
                    for (int l = 0; l < Lanes; l++)
                    {
                        for (int s = g; s < g + GroupSessions; s++) lane0[l * laneFloats + s] = s < sessions && start + l < n ? v[s * n + start + l] : 0f;
                    }
                }
            }
        }
    }

    /// <summary>Rows 0..7 of 8 floats each (<paramref name="sourceStride"/> apart) written as columns (<paramref name="destinationStride"/> apart).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8(ref float source, int sourceStride, ref float destination, int destinationStride)
    {
        Vector256<float> r0 = Vector256.LoadUnsafe(ref source), r1 = Vector256.LoadUnsafe(ref source, (nuint)sourceStride);
        Vector256<float> r2 = Vector256.LoadUnsafe(ref source, (nuint)(2 * sourceStride)), r3 = Vector256.LoadUnsafe(ref source, (nuint)(3 * sourceStride));
        Vector256<float> r4 = Vector256.LoadUnsafe(ref source, (nuint)(4 * sourceStride)), r5 = Vector256.LoadUnsafe(ref source, (nuint)(5 * sourceStride));
        Vector256<float> r6 = Vector256.LoadUnsafe(ref source, (nuint)(6 * sourceStride)), r7 = Vector256.LoadUnsafe(ref source, (nuint)(7 * sourceStride));
        // Pairs of rows interleaved, then pairs of pairs: each 128-bit half holds four rows' values of one column.
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5), t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE), u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE), u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
        nuint stride = (nuint)destinationStride;
        Avx.Permute2x128(u0, u4, 0x20).StoreUnsafe(ref destination);
        Avx.Permute2x128(u1, u5, 0x20).StoreUnsafe(ref destination, stride);
        Avx.Permute2x128(u2, u6, 0x20).StoreUnsafe(ref destination, 2 * stride);
        Avx.Permute2x128(u3, u7, 0x20).StoreUnsafe(ref destination, 3 * stride);
        Avx.Permute2x128(u0, u4, 0x31).StoreUnsafe(ref destination, 4 * stride);
        Avx.Permute2x128(u1, u5, 0x31).StoreUnsafe(ref destination, 5 * stride);
        Avx.Permute2x128(u2, u6, 0x31).StoreUnsafe(ref destination, 6 * stride);
        Avx.Permute2x128(u3, u7, 0x31).StoreUnsafe(ref destination, 7 * stride);
    }

    /// <summary>The two panels, where this call's rows start in them, and the padded sessions (the packed floats from one of a lane's columns to the next).</summary>
    private readonly struct Tiles
    {
        private readonly LanePanel? _p1, _p2;
        private readonly int _firstVector1, _firstVector2; // the views' first row vectors in their panels
        private readonly int _blocks1, _blocks2, _padded;

        public Tiles(LanePanel? p1, int firstVector1, int blocks1, LanePanel? p2, int firstVector2, int blocks2, int padded)
        {
            _p1 = p1;
            _p2 = p2;
            _firstVector1 = firstVector1;
            _firstVector2 = firstVector2;
            _blocks1 = blocks1;
            _blocks2 = blocks2;
            _padded = padded;
        }

        public void Run<TMultiplyAdd>(ReadOnlySpan<float> packed, Span<float> partials, ReadOnlySpan<float> biases, int biasStride, Span<float> ys, int yStride, int rows, int sessions)
            where TMultiplyAdd : struct, IMultiplyAdd
        {
            int rowVectors = LanePanel.BlocksOf(rows), lastVector = rowVectors - 1, groups = _padded / GroupSessions;
            ref float x0 = ref MemoryMarshal.GetReference(packed);
            ref Vector512<float> partial0 = ref Unsafe.As<float, Vector512<float>>(ref MemoryMarshal.GetReference(partials));
            int laneFloats = (_blocks1 + _blocks2) * _padded; // packed floats from one lane's columns to the next lane's
            for (int v0 = 0; v0 < rowVectors; v0 += TileRowVectors)
            {
                // A short last tile repeats its last row vector, which computes (and writes) the same values again.
                int v1 = Math.Min(v0 + 1, lastVector), v2 = Math.Min(v0 + 2, lastVector);
                for (int lane = 0; lane < Lanes; lane++)
                {
                    for (int g = 0; g < groups; g++)
                    {
                        ref Vector512<float> sums = ref Unsafe.Add(ref partial0, (g * Lanes + lane) * TileAccumulators);
                        ref float x = ref Unsafe.Add(ref x0, lane * laneFloats + g * GroupSessions);
                        Tile<TMultiplyAdd>(ref Weights(_p1, _firstVector1 + v0, lane), ref Weights(_p1, _firstVector1 + v1, lane), ref Weights(_p1, _firstVector1 + v2, lane), _blocks1,
                            ref Weights(_p2, _firstVector2 + v0, lane), ref Weights(_p2, _firstVector2 + v1, lane), ref Weights(_p2, _firstVector2 + v2, lane), _blocks2,
                            ref x, _padded, g, ref sums);
                    }
                }
                for (int g = 0; g < groups; g++)
                {
                    ref Vector512<float> sums = ref Unsafe.Add(ref partial0, g * Lanes * TileAccumulators);
                    for (int k = 0; k < TileAccumulators; k++)
                    {
                        int s = g * GroupSessions + k % GroupSessions;
                        int vector = k / GroupSessions == 0 ? v0 : k / GroupSessions == 1 ? v1 : v2;
                        if (s < sessions)
                        {
                            Vector512<float> rowSums = FixedOrderSum.Tree(ref Unsafe.Add(ref sums, k), TileAccumulators);
                            Store(rowSums.GetLower(), rowSums.GetUpper(), vector * Lanes, rows, biases.Slice(s * biasStride), ys.Slice(s * yStride));
                        }
                    }
                }
            }
        }

        /// <summary>
        /// The 256-bit form: one row vector (16 rows, two 8-row halves) × 6 sessions per tile, and tiles of 4 for the
        /// rest. Twelve accumulators, two weight vectors and a broadcast fit AVX2's 16 registers: per column, two weight
        /// loads and six broadcasts serve twelve multiply-adds. A tile of 4 keeps eight chains of multiply-adds in flight,
        /// no more than two FMA units with a 4-cycle latency need, so any stall idles them: products of a 2048 × (512 + 512)
        /// matrix ran 1.06–1.13× faster for 32 sessions and 1.15× for 24 in tiles of 6 (median of 57 alternating rounds
        /// in one process, Zen 3, session 29). Partial sums are kept as (lane, session, half) over all padded sessions,
        /// 32 vectors a session where the 512-bit tiles keep 48 (a third of the workspace's partial-sum space). Each lane
        /// adds its columns in the single-session order, so the bits are the 256-bit single-session kernel's.
        /// </summary>
        public void Run256<TMultiplyAdd>(ReadOnlySpan<float> packed, Span<float> partials, ReadOnlySpan<float> biases, int biasStride, Span<float> ys, int yStride, int rows, int sessions)
            where TMultiplyAdd : struct, IMultiplyAdd
        {
            int rowVectors = LanePanel.BlocksOf(rows);
            ref float x0 = ref MemoryMarshal.GetReference(packed);
            ref Vector256<float> partial0 = ref Unsafe.As<float, Vector256<float>>(ref MemoryMarshal.GetReference(partials));
            int laneFloats = (_blocks1 + _blocks2) * _padded; // packed floats from one lane's columns to the next lane's
            int laneStride = _padded * 2; // vectors from one lane's partial sum of a (session, half) to the next lane's
            int sixes = SessionsInSixes(sessions);
            for (int v = 0; v < rowVectors; v++)
            {
                for (int lane = 0; lane < Lanes; lane++)
                {
                    ref float w1 = ref Weights(_p1, _firstVector1 + v, lane), w2 = ref Weights(_p2, _firstVector2 + v, lane);
                    ref float x = ref Unsafe.Add(ref x0, lane * laneFloats);
                    ref Vector256<float> sums = ref Unsafe.Add(ref partial0, lane * laneStride);
                    for (int first = 0; first < sixes; first += 6)
                        Tile256<TMultiplyAdd, SixSessions>(ref w1, _blocks1, ref w2, _blocks2, ref Unsafe.Add(ref x, first), _padded, ref Unsafe.Add(ref sums, first * 2));
                    for (int first = sixes; first < sessions; first += 4)
                        Tile256<TMultiplyAdd, FourSessions>(ref w1, _blocks1, ref w2, _blocks2, ref Unsafe.Add(ref x, first), _padded, ref Unsafe.Add(ref sums, first * 2));
                }
                for (int s = 0; s < sessions; s++)
                {
                    ref Vector256<float> lane0 = ref Unsafe.Add(ref partial0, s * 2);
                    Store(FixedOrderSum.Tree(ref lane0, laneStride), FixedOrderSum.Tree(ref Unsafe.Add(ref lane0, 1), laneStride), v * Lanes, rows, biases.Slice(s * biasStride), ys.Slice(s * yStride));
                }
            }
        }

        /// <summary>
        /// One lane of one row vector for <typeparamref name="TSessions"/> sessions (4 or 6): x's columns of the lane,
        /// then h's, into two accumulators a session (rows 0..7 in aS, 8..15 in bS), stored to <paramref name="sums"/> as
        /// (session, half). The count is a constant of the instantiation, so the JIT drops the unused accumulators.
        /// </summary>
        private static void Tile256<TMultiplyAdd, TSessions>(ref float wa, int blocks1, ref float wb, int blocks2, ref float x, int columnFloats, ref Vector256<float> sums)
            where TMultiplyAdd : struct, IMultiplyAdd
            where TSessions : struct, ITileSessions
        {
            TMultiplyAdd madd = default;
            int count = default(TSessions).Count;
            ref float input = ref x;
            Vector256<float> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default;
            Vector256<float> a3 = default, b3 = default, a4 = default, b4 = default, a5 = default, b5 = default;
            for (int part = 0; part < 2; part++)
            {
                int blocks = part == 0 ? blocks1 : blocks2;
                if (blocks == 0) continue;
                ref float w = ref part == 0 ? ref wa : ref wb;
                for (nuint i = 0, end = (nuint)blocks * Lanes; i < end; i += Lanes, input = ref Unsafe.Add(ref input, columnFloats))
                {
                    Vector256<float> low = Vector256.LoadUnsafe(ref w, i), high = Vector256.LoadUnsafe(ref w, i + 8);
                    Vector256<float> b = Vector256.Create(input);
                    a0 = madd.Invoke(low, b, a0); b0 = madd.Invoke(high, b, b0);
                    b = Vector256.Create(Unsafe.Add(ref input, 1));
                    a1 = madd.Invoke(low, b, a1); b1 = madd.Invoke(high, b, b1);
                    b = Vector256.Create(Unsafe.Add(ref input, 2));
                    a2 = madd.Invoke(low, b, a2); b2 = madd.Invoke(high, b, b2);
                    b = Vector256.Create(Unsafe.Add(ref input, 3));
                    a3 = madd.Invoke(low, b, a3); b3 = madd.Invoke(high, b, b3);
                    if (count > 4)
                    {
                        b = Vector256.Create(Unsafe.Add(ref input, 4));
                        a4 = madd.Invoke(low, b, a4); b4 = madd.Invoke(high, b, b4);
                        b = Vector256.Create(Unsafe.Add(ref input, 5));
                        a5 = madd.Invoke(low, b, a5); b5 = madd.Invoke(high, b, b5);
                    }
                }
            }
            Unsafe.Add(ref sums, 0) = a0; Unsafe.Add(ref sums, 1) = b0; Unsafe.Add(ref sums, 2) = a1; Unsafe.Add(ref sums, 3) = b1;
            Unsafe.Add(ref sums, 4) = a2; Unsafe.Add(ref sums, 5) = b2; Unsafe.Add(ref sums, 6) = a3; Unsafe.Add(ref sums, 7) = b3;
            if (count > 4)
            {
                Unsafe.Add(ref sums, 8) = a4; Unsafe.Add(ref sums, 9) = b4; Unsafe.Add(ref sums, 10) = a5; Unsafe.Add(ref sums, 11) = b5;
            }
        }

        /// <summary>Sessions of a 256-bit tile, a constant of each instantiation of <see cref="Tile256{TMultiplyAdd, TSessions}"/>.</summary>
        private interface ITileSessions
        {
            int Count { get; }
        }

        private readonly struct FourSessions : ITileSessions
        {
            public int Count => 4;
        }

        private readonly struct SixSessions : ITileSessions
        {
            public int Count => 6;
        }

        /// <summary>Row vector <paramref name="vector"/>'s lane <paramref name="lane"/> in <paramref name="panel"/>; a null reference for a matrix left out.</summary>
        private static ref float Weights(LanePanel? panel, int vector, int lane)
        {
            if (panel is null) return ref Unsafe.NullRef<float>();
            return ref panel.Values.Array![panel.Values.Offset + panel.LaneStart(vector, lane)];
        }

        /// <summary>
        /// One lane of the tile for one group of sessions: x's columns of the lane, then h's, into 24 accumulators
        /// (row vector R, session S: aRS), stored to <paramref name="sums"/>. Group <paramref name="g"/> hints the
        /// next lane's weights of row vector g (the three row vectors' are hinted by the first three groups).
        /// </summary>
        private static void Tile<TMultiplyAdd>(ref float wa0, ref float wa1, ref float wa2, int blocks1, ref float wb0, ref float wb1, ref float wb2, int blocks2,
            ref float x, int columnFloats, int g, ref Vector512<float> sums)
            where TMultiplyAdd : struct, IMultiplyAdd
        {
            TMultiplyAdd madd = default;
            ref float input = ref x;
            Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default, a04 = default, a05 = default, a06 = default, a07 = default;
            Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default, a14 = default, a15 = default, a16 = default, a17 = default;
            Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default, a24 = default, a25 = default, a26 = default, a27 = default;
            for (int part = 0; part < 2; part++)
            {
                int blocks = part == 0 ? blocks1 : blocks2;
                if (blocks == 0) continue;
                ref float w0 = ref part == 0 ? ref wa0 : ref wb0;
                ref float w1 = ref part == 0 ? ref wa1 : ref wb1;
                ref float w2 = ref part == 0 ? ref wa2 : ref wb2;
                ref float hinted = ref g == 0 ? ref w0 : ref g == 1 ? ref w1 : ref w2;
                nuint hint = g < TileRowVectors ? Prefetch.Address(ref hinted, (nuint)(blocks * Lanes)) : 0, hintStep = g < TileRowVectors ? Prefetch.LineBytes : 0u;
                for (nuint i = 0, end = (nuint)blocks * Lanes; i < end; i += Lanes, hint += hintStep, input = ref Unsafe.Add(ref input, columnFloats))
                {
                    if (hintStep != 0) Prefetch.Lines(hint, 1);
                    Vector512<float> r0 = Vector512.LoadUnsafe(ref w0, i), r1 = Vector512.LoadUnsafe(ref w1, i), r2 = Vector512.LoadUnsafe(ref w2, i);
                    Vector512<float> b = Vector512.Create(input);
                    a00 = madd.Invoke(r0, b, a00); a10 = madd.Invoke(r1, b, a10); a20 = madd.Invoke(r2, b, a20);
                    b = Vector512.Create(Unsafe.Add(ref input, 1));
                    a01 = madd.Invoke(r0, b, a01); a11 = madd.Invoke(r1, b, a11); a21 = madd.Invoke(r2, b, a21);
                    b = Vector512.Create(Unsafe.Add(ref input, 2));
                    a02 = madd.Invoke(r0, b, a02); a12 = madd.Invoke(r1, b, a12); a22 = madd.Invoke(r2, b, a22);
                    b = Vector512.Create(Unsafe.Add(ref input, 3));
                    a03 = madd.Invoke(r0, b, a03); a13 = madd.Invoke(r1, b, a13); a23 = madd.Invoke(r2, b, a23);
                    b = Vector512.Create(Unsafe.Add(ref input, 4));
                    a04 = madd.Invoke(r0, b, a04); a14 = madd.Invoke(r1, b, a14); a24 = madd.Invoke(r2, b, a24);
                    b = Vector512.Create(Unsafe.Add(ref input, 5));
                    a05 = madd.Invoke(r0, b, a05); a15 = madd.Invoke(r1, b, a15); a25 = madd.Invoke(r2, b, a25);
                    b = Vector512.Create(Unsafe.Add(ref input, 6));
                    a06 = madd.Invoke(r0, b, a06); a16 = madd.Invoke(r1, b, a16); a26 = madd.Invoke(r2, b, a26);
                    b = Vector512.Create(Unsafe.Add(ref input, 7));
                    a07 = madd.Invoke(r0, b, a07); a17 = madd.Invoke(r1, b, a17); a27 = madd.Invoke(r2, b, a27);
                }
            }
            Unsafe.Add(ref sums, 0) = a00; Unsafe.Add(ref sums, 1) = a01; Unsafe.Add(ref sums, 2) = a02; Unsafe.Add(ref sums, 3) = a03;
            Unsafe.Add(ref sums, 4) = a04; Unsafe.Add(ref sums, 5) = a05; Unsafe.Add(ref sums, 6) = a06; Unsafe.Add(ref sums, 7) = a07;
            Unsafe.Add(ref sums, 8) = a10; Unsafe.Add(ref sums, 9) = a11; Unsafe.Add(ref sums, 10) = a12; Unsafe.Add(ref sums, 11) = a13;
            Unsafe.Add(ref sums, 12) = a14; Unsafe.Add(ref sums, 13) = a15; Unsafe.Add(ref sums, 14) = a16; Unsafe.Add(ref sums, 15) = a17;
            Unsafe.Add(ref sums, 16) = a20; Unsafe.Add(ref sums, 17) = a21; Unsafe.Add(ref sums, 18) = a22; Unsafe.Add(ref sums, 19) = a23;
            Unsafe.Add(ref sums, 20) = a24; Unsafe.Add(ref sums, 21) = a25; Unsafe.Add(ref sums, 22) = a26; Unsafe.Add(ref sums, 23) = a27;
        }

        /// <summary>
        /// Sums plus biases to rows <paramref name="firstRow"/>.. of one session's output, those below
        /// <paramref name="rows"/>: rows firstRow..firstRow+7 in <paramref name="low"/>, the next eight in <paramref name="high"/>.
        /// </summary>
        private static void Store(Vector256<float> low, Vector256<float> high, int firstRow, int rows, ReadOnlySpan<float> biases, Span<float> y)
        {
            const int half = Lanes / 2;
            if (firstRow + Lanes <= rows && biases.Length >= firstRow + Lanes)
            {
                (low + Vector256.Create(biases.Slice(firstRow, half))).CopyTo(y.Slice(firstRow, half));
                (high + Vector256.Create(biases.Slice(firstRow + half, half))).CopyTo(y.Slice(firstRow + half, half));
                return;
            }
            for (int r = firstRow; r < Math.Min(firstRow + Lanes, rows); r++)
            {
                int k = r - firstRow;
                y[r] = (k < half ? low.GetElement(k) : high.GetElement(k - half)) + biases[r];
            }
        }
    }
}
#endif
