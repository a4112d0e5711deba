using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TextGen.Runtime.Format;
#if NET8_0_OR_GREATER
using System.Runtime.Intrinsics;
#endif

namespace TextGen.Runtime.Kernels;

/// <summary>
/// <see cref="MatrixVector"/> for a batch of sessions: <c>y_s = W1·x_s + W2·h_s + bias_s</c> for every session s,
/// each weight loaded once for several sessions. One session streams every matrix from memory per character and waits
/// on it; a batch streams it once for all its sessions and is limited by the multiply-adds instead.
/// <para>
/// Every (row, session) pair is summed exactly as the single-session kernel of the same path sums it: the same 16
/// lanes in the same order, the same multiply-add (fused or not), the lane tree, then the bias. So a batch gives the
/// bits that stepping its sessions one by one gives, on every path; the tests compare them bit for bit.
/// </para>
/// <para>
/// Layout: <c>xs</c> is (sessions, W1 columns) and <c>hs</c> (sessions, W2 columns), session-major, either empty
/// to leave its matrix out; session s's bias for row r is <c>biases[s·biasStride + r]</c> (stride 0: one bias for all)
/// and its result goes to <c>ys[s·yStride + r]</c>, for rows 0..<c>rows</c>.
/// </para>
/// </summary>
internal static class BatchedMatrixVector
{
    private const int Lanes = FixedOrderSum.Lanes;

    // A group of sessions' inputs stays in L1 (32 KB per core on current x64) while the row tiles of a panel sweep over
    // it, and a panel's rows stay in L2 (512 KB and more) while the groups sweep over them: each weight comes from L3 or
    // memory once per call, from L2 once per group, and from L1 for the rest of the group.
    private const int GroupInputBytes = 16 << 10;
    private const int PanelWeightBytes = 256 << 10;

    // The most floats of a group's scaled f16 vectors the 256-bit tiles copy to the stack (32 KiB): two sessions of 4,096 columns.
    private const int MaxScaledFloats = 8192;

    // The 256-bit tiles' rows, and the 16-float blocks of one part's zero-padded tail: each row's weights, then each session's values.
    private const int TileRows = 3;
    private const int PadBlocks = TileRows + 2;

    // The 512-bit tiles' rows and sessions, their tail blocks, and the most inputs a group of sessions keeps in L2
    // (under half of the 1 MB L2 of the smallest AVX-512 cores, Zen 4's) while every row tile meets it.
    private const int Tile512Rows = 6;
    private const int Tile512Sessions = 4;
    private const int Pad512Blocks = Tile512Rows + Tile512Sessions;
    private const int GroupInputBytes512 = 384 << 10;

    /// <summary>
    /// The batched product for <paramref name="sessions"/> sessions, on the path <paramref name="mode"/> selects; both
    /// matrices in one dtype. With a <paramref name="workspace"/> of <c>LanePanelMatrixVector.WorkspaceFloats</c> and
    /// matrices whose <see cref="LanePanel"/>s are made, f32 on the 512- and 256-bit paths takes <c>LanePanelMatrixVector</c>;
    /// with one of <c>RowQ8MatrixVector.BatchWorkspaceFloats</c>, row-scaled q8 on AVX2 takes that kernel's batched tiles
    /// (<c>RowQ8MatrixVector.ServesBatch</c>).
    /// </summary>
    public static void MultiplyPair(KernelMode mode, in WeightRows w1, ReadOnlySpan<float> xs, in WeightRows w2, ReadOnlySpan<float> hs,
        ReadOnlySpan<float> biases, int biasStride, Span<float> ys, int yStride, int rows, int sessions, Span<float> workspace = default)
    {
        CheckShapes(w1, xs, rows, sessions, nameof(w1));
        CheckShapes(w2, hs, rows, sessions, nameof(w2));
        if (xs.Length > 0 && hs.Length > 0 && w1.DType != w2.DType) throw new ArgumentException($"W1 is {w1.DType} but W2 is {w2.DType}", nameof(w2));
        TensorDType dtype = hs.Length > 0 ? w2.DType : w1.DType;
        if (sessions > 1)
        {
            switch (mode.Path, dtype)
            {
#if NET8_0_OR_GREATER
                // The 512-bit path takes its own tiles and, where they decline, the 256-bit ones: those sum lanes 0..7 and
                // 8..15 of a row in two vectors instead of one, in the same order, so either gives the 512-bit kernel's bits.
                // Two sessions fill a 3 × 2 tile but only half of a 6 × 4 one, and ran 9% faster in the 256-bit tiles.
                case (KernelPath.Vector256 or KernelPath.Vector512, TensorDType.F32):
                    CheckOutputs(biases, biasStride, ys, yStride, rows, sessions);
                    if (LanePanelMatrixVector.TryMultiplyPair(mode, w1, xs, w2, hs, biases, biasStride, ys, yStride, rows, sessions, workspace)) return;
                    if (mode.Path == KernelPath.Vector512 && sessions > 2 && MultiplyPairVector512(mode, new Float32Weights(w1), w1, xs, new Float32Weights(w2), w2, hs, biases, biasStride, ys, yStride, rows, sessions)) return;
                    if (MultiplyPairVector256(mode, new Float32Weights(w1), w1, xs, new Float32Weights(w2), w2, hs, biases, biasStride, ys, yStride, rows, sessions)) return;
                    break;
                // Paired f16 (the 512-bit path's layout) leaves 2 sessions, and what the 512-bit tiles decline, to the
                // single-session kernel: the 256-bit tiles' loads would each work out which half of which word they need,
                // which ran 2 sessions at half the file-order speed (docs/performance-history.md).
                case (KernelPath.Vector256 or KernelPath.Vector512, TensorDType.F16) when EncodedMatrixVector.PairedHalves(w1, xs.Length, w2, hs.Length) == true:
                    if (mode.Path == KernelPath.Vector512 && sessions > 2 && MultiplyPairVector512(mode, new PairedFloat16Weights(w1), w1, xs, new PairedFloat16Weights(w2), w2, hs, biases, biasStride, ys, yStride, rows, sessions)) return;
                    break;
                case (KernelPath.Vector256 or KernelPath.Vector512, TensorDType.F16) when EncodedMatrixVector.PairedHalves(w1, xs.Length, w2, hs.Length) == false:
                    if (mode.Path == KernelPath.Vector512 && sessions > 2 && MultiplyPairVector512(mode, new Float16Weights(w1), w1, xs, new Float16Weights(w2), w2, hs, biases, biasStride, ys, yStride, rows, sessions)) return;
                    if (MultiplyPairVector256(mode, new Float16Weights(w1), w1, xs, new Float16Weights(w2), w2, hs, biases, biasStride, ys, yStride, rows, sessions)) return;
                    break;
                case (KernelPath.Vector256 or KernelPath.Vector512, TensorDType.Q8):
                    CheckOutputs(biases, biasStride, ys, yStride, rows, sessions);
                    if (RowQ8MatrixVector.TryMultiplyPairBatch(mode, w1, xs, w2, hs, biases, biasStride, ys, yStride, rows, sessions, workspace)) return;
                    break;
#endif
                case (KernelPath.Vector, TensorDType.F32):
                    MultiplyPairVector(xs.Length > 0 ? w1.FloatSpan : default, xs, hs.Length > 0 ? w2.FloatSpan : default, hs, biases, biasStride, ys, yStride, rows, sessions);
                    return;
            }
        }
        // The scalar reference; q8 with block scales, whose integer kernel has no batched form yet, and row-scaled q8 where
        // its tiles do not serve (no AVX2, or AVX-512BW's 512-bit kernel); f16 matrices in mixed layouts; and what the
        // tiles decline: one session at a time, identical by construction.
        MultiplyPairEachSession(mode, w1, xs, w2, hs, biases, biasStride, ys, yStride, rows, sessions);
    }

    /// <summary>Each session through <see cref="MatrixVector"/>'s single-session kernel: the definition the batched paths must equal.</summary>
    internal static void MultiplyPairEachSession(KernelMode mode, in WeightRows w1, ReadOnlySpan<float> xs, in WeightRows w2, ReadOnlySpan<float> hs,
        ReadOnlySpan<float> biases, int biasStride, Span<float> ys, int yStride, int rows, int sessions)
    {
        CheckOutputs(biases, biasStride, ys, yStride, rows, sessions);
        if (sessions == 0) return;
        int n1 = xs.Length / sessions, n2 = hs.Length / sessions;
        for (int s = 0; s < sessions; s++)
        {
            MatrixVector.MultiplyPair(mode, w1, xs.Slice(s * n1, n1), w2, hs.Slice(s * n2, n2), biases.Slice(s * biasStride, rows), ys.Slice(s * yStride, rows));
        }
    }

    /// <summary>
    /// The <see cref="Vector{T}"/> path: each of <see cref="MatrixVector.MultiplyRowTile"/>'s three-row tiles for every
    /// session in turn, so a tile's rows come from memory once and from L1 for the other sessions (three rows of 1,024
    /// columns are 12 KB); per session the sums are the single-session kernel's, tile by tile.
    /// </summary>
    internal static void MultiplyPairVector(ReadOnlySpan<float> w1, ReadOnlySpan<float> xs, ReadOnlySpan<float> w2, ReadOnlySpan<float> hs,
        ReadOnlySpan<float> biases, int biasStride, Span<float> ys, int yStride, int rows, int sessions)
    {
        CheckShapes(w1, xs, w2, hs, biases, biasStride, ys, yStride, rows, sessions);
        if (sessions == 0) return;
        int n1 = xs.Length / sessions, n2 = hs.Length / sessions;
        Span<float> tails = stackalloc float[MatrixVector.VectorTailFloats];
        int tiles = MatrixVector.RowTileCount(rows);
        for (int tile = 0; tile < tiles; tile++)
        {
            MatrixVector.PadRowTails(w1, n1, w2, n2, tile, rows, tails);
            for (int s = 0; s < sessions; s++)
            {
                ReadOnlySpan<float> x = xs.Slice(s * n1, n1), h = hs.Slice(s * n2, n2);
                // A session's tail blocks, read only where its vectors end in a partial block.
                if (n1 % Lanes != 0) MatrixVector.PadTail(x, tails.Slice(0, Lanes));
                if (n2 % Lanes != 0) MatrixVector.PadTail(h, tails.Slice(Lanes, Lanes));
                MatrixVector.MultiplyRowTile(w1, x, w2, h, biases.Slice(s * biasStride, rows), ys.Slice(s * yStride, rows), tile, tails);
            }
        }
    }

#if NET8_0_OR_GREATER
    /// <summary>The 256-bit tiles, fused or not as <paramref name="mode"/>'s single-session kernels are (<see cref="KernelMode.FusesAt256Bits"/>).</summary>
    private static bool MultiplyPairVector256<TDecoder>(KernelMode mode, TDecoder d1, in WeightRows w1, ReadOnlySpan<float> xs, TDecoder d2, in WeightRows w2, ReadOnlySpan<float> hs,
        ReadOnlySpan<float> biases, int biasStride, Span<float> ys, int yStride, int rows, int sessions)
        where TDecoder : struct, IWeightDecoder
        => mode.FusesAt256Bits
            ? MultiplyPairVector256<TDecoder, FusedMultiplyAdd>(d1, w1, xs, d2, w2, hs, biases, biasStride, ys, yStride, rows, sessions)
            : MultiplyPairVector256<TDecoder, RoundedMultiplyAdd>(d1, w1, xs, d2, w2, hs, biases, biasStride, ys, yStride, rows, sessions);

    /// <summary>
    /// The 256-bit path, f32 or f16 (<typeparamref name="TDecoder"/>): tiles of three rows × two sessions, each
    /// (row, session) pair summing its lanes 0..7 and 8..15 in two vectors exactly as the single-session kernels do.
    /// Twelve accumulators are twelve independent add chains: eight, as in a 2 × 2 tile, leave the FMA units waiting
    /// on their latency (a 2 × 2 tile ran at 15–16 G multiply-adds/s here, this one at 19–20 of a peak of 39 G nominal,
    /// 48–50 G measured; docs/performance-history.md). The 16 vector registers hold them only if the inputs are loaded a half-block at a
    /// time: lanes 0..7 of both sessions and each row's weights for them, then lanes 8..15. Each weight half-block is
    /// loaded (and for f16 decoded, which is what limits one f16 session) once for two sessions. A last row or
    /// session short of a whole tile is computed again (the tile repeats it), which writes the same value again.
    /// <para>
    /// f16: the group's vectors are copied scaled by the decoder's <see cref="IWeightDecoder.VectorScale"/> as
    /// <see cref="EncodedMatrixVector"/> scales them, once per panel, a few percent of the work; f32 (scale 1) reads
    /// the sessions' vectors in place. The short last block multiplies the unscaled vector by whole decoded weights.
    /// Returns false when a vector is beyond the scalable range (a hostile f16 embedding) or a group's copies would not
    /// fit on the stack (rows over 4,096 columns): the caller then steps the sessions one by one, which rewrites every
    /// output, so what this call wrote before giving up never shows.
    /// </para>
    /// </summary>
    internal static bool MultiplyPairVector256<TDecoder, TMultiplyAdd>(TDecoder d1, in WeightRows w1, ReadOnlySpan<float> xs, TDecoder d2, in WeightRows w2, ReadOnlySpan<float> hs,
        ReadOnlySpan<float> biases, int biasStride, Span<float> ys, int yStride, int rows, int sessions)
        where TDecoder : struct, IWeightDecoder
        where TMultiplyAdd : struct, IMultiplyAdd
    {
        CheckShapes(w1, xs, rows, sessions, nameof(w1));
        CheckShapes(w2, hs, rows, sessions, nameof(w2));
        CheckOutputs(biases, biasStride, ys, yStride, rows, sessions);
        if (sessions == 0 || rows == 0) return true;
        TMultiplyAdd madd = default;
        int n1 = xs.Length / sessions, n2 = hs.Length / sessions, rowFloats = n1 + n2;
        int groupSessions = Math.Max(2, GroupInputBytes / Math.Max(1, rowFloats * sizeof(float)) & ~1);
        bool scales = d1.VectorScale != 1f || d2.VectorScale != 1f; // f16 always (2^102 to 2^112), f32 never
        if (scales && (long)groupSessions * rowFloats > MaxScaledFloats) return false;
        int panelRows = Math.Max(TileRows, PanelWeightBytes / Math.Max(1, rowFloats * d2.StoredBytes) / TileRows * TileRows);
        Span<float> scaled = stackalloc float[scales ? groupSessions * rowFloats : 0]; // (group sessions, n1 + n2): x then h, scaled
        // Zero-padded tail blocks: three rows' decoded weights then two sessions' unscaled values, for x and for h.
        Span<float> pads = stackalloc float[2 * PadBlocks * Lanes];
        pads.Clear();
        int lastRow = rows - 1, lastSession = sessions - 1;
        for (int panel = 0; panel < rows; panel += panelRows)
        {
            int panelEnd = Math.Min(panel + panelRows, rows);
            for (int group = 0; group < sessions; group += groupSessions)
            {
                int groupEnd = Math.Min(group + groupSessions, sessions);
                if (scales && !TryScaleGroup(xs, n1, d1.VectorScale, hs, n2, d2.VectorScale, group, groupEnd, scaled)) return false;
                for (int r0 = panel; r0 < panelEnd; r0 += TileRows)
                {
                    int r1 = Math.Min(r0 + 1, lastRow), r2 = Math.Min(r0 + 2, lastRow);
                    for (int s0 = group; s0 < groupEnd; s0 += 2)
                    {
                        int s1 = Math.Min(s0 + 1, lastSession);
                        // lRS, hRS: lanes 0..7 and 8..15 of row R, session S
                        Vector256<float> l00 = default, h00 = default, l01 = default, h01 = default;
                        Vector256<float> l10 = default, h10 = default, l11 = default, h11 = default;
                        Vector256<float> l20 = default, h20 = default, l21 = default, h21 = default;
                        for (int part = 0; part < 2; part++)
                        {
                            int n = part == 0 ? n1 : n2;
                            if (n == 0) continue; // W1 left out: no weights to address
                            TDecoder d = part == 0 ? d1 : d2;
                            WeightRows w = part == 0 ? w1 : w2;
                            ReadOnlySpan<float> v = part == 0 ? xs : hs;
                            nuint whole = (nuint)(n - n % Lanes);
                            ref float in0 = ref SessionInput(scales, scaled, v, s0, group, rowFloats, part == 0 ? 0 : n1, n);
                            ref float in1 = ref SessionInput(scales, scaled, v, s1, group, rowFloats, part == 0 ? 0 : n1, n);
                            nuint row0 = EncodedMatrixVector.RowStart(w, r0), row1 = EncodedMatrixVector.RowStart(w, r1), row2 = EncodedMatrixVector.RowStart(w, r2);
                            // The next tile's three rows follow this tile's first: walk them three times as fast as j.
                            nuint nextTile = d.Address(row0 + TileRows * (nuint)n);
                            for (nuint j = 0; j < whole; j += Lanes)
                            {
                                Prefetch.Lines(nextTile + TileRows * (nuint)d.StoredBytes * j, Math.Max(1, TileRows * d.StoredBytes * Lanes / Prefetch.LineBytes));
                                Vector256<float> x0 = Vector256.LoadUnsafe(ref in0, j), x1 = Vector256.LoadUnsafe(ref in1, j);
                                Vector256<float> weights = d.LoadHalfBlock(row0 + j);
                                l00 = madd.Invoke(weights, x0, l00);
                                l01 = madd.Invoke(weights, x1, l01);
                                weights = d.LoadHalfBlock(row1 + j);
                                l10 = madd.Invoke(weights, x0, l10);
                                l11 = madd.Invoke(weights, x1, l11);
                                weights = d.LoadHalfBlock(row2 + j);
                                l20 = madd.Invoke(weights, x0, l20);
                                l21 = madd.Invoke(weights, x1, l21);
                                x0 = Vector256.LoadUnsafe(ref in0, j + 8);
                                x1 = Vector256.LoadUnsafe(ref in1, j + 8);
                                weights = d.LoadHalfBlock(row0 + j + 8);
                                h00 = madd.Invoke(weights, x0, h00);
                                h01 = madd.Invoke(weights, x1, h01);
                                weights = d.LoadHalfBlock(row1 + j + 8);
                                h10 = madd.Invoke(weights, x0, h10);
                                h11 = madd.Invoke(weights, x1, h11);
                                weights = d.LoadHalfBlock(row2 + j + 8);
                                h20 = madd.Invoke(weights, x0, h20);
                                h21 = madd.Invoke(weights, x1, h21);
                            }
                            if (whole < (nuint)n)
                            {
                                // Plain loops: a call inside the tile would make the JIT keep the accumulators in memory.
                                Span<float> pad = pads.Slice(part * PadBlocks * Lanes, PadBlocks * Lanes);
                                for (int k = (int)whole; k < n; k++)
                                {
                                    pad[k - (int)whole] = d.Get(row0 + (nuint)k);
                                    pad[Lanes + k - (int)whole] = d.Get(row1 + (nuint)k);
                                    pad[2 * Lanes + k - (int)whole] = d.Get(row2 + (nuint)k);
                                }
                                MatrixVector.CopyTail(v.Slice(s0 * n, n), pad.Slice(3 * Lanes, Lanes));
                                MatrixVector.CopyTail(v.Slice(s1 * n, n), pad.Slice(4 * Lanes, Lanes));
                                ref float p = ref MemoryMarshal.GetReference(pad);
                                Vector256<float> x0 = Vector256.LoadUnsafe(ref p, 3 * Lanes), x1 = Vector256.LoadUnsafe(ref p, 4 * Lanes);
                                Vector256<float> weights = Vector256.LoadUnsafe(ref p);
                                l00 = madd.Invoke(weights, x0, l00);
                                l01 = madd.Invoke(weights, x1, l01);
                                weights = Vector256.LoadUnsafe(ref p, Lanes);
                                l10 = madd.Invoke(weights, x0, l10);
                                l11 = madd.Invoke(weights, x1, l11);
                                weights = Vector256.LoadUnsafe(ref p, 2 * Lanes);
                                l20 = madd.Invoke(weights, x0, l20);
                                l21 = madd.Invoke(weights, x1, l21);
                                x0 = Vector256.LoadUnsafe(ref p, 3 * Lanes + 8);
                                x1 = Vector256.LoadUnsafe(ref p, 4 * Lanes + 8);
                                weights = Vector256.LoadUnsafe(ref p, 8);
                                h00 = madd.Invoke(weights, x0, h00);
                                h01 = madd.Invoke(weights, x1, h01);
                                weights = Vector256.LoadUnsafe(ref p, Lanes + 8);
                                h10 = madd.Invoke(weights, x0, h10);
                                h11 = madd.Invoke(weights, x1, h11);
                                weights = Vector256.LoadUnsafe(ref p, 2 * Lanes + 8);
                                h20 = madd.Invoke(weights, x0, h20);
                                h21 = madd.Invoke(weights, x1, h21);
                            }
                        }
                        ys[s1 * yStride + r2] = FixedOrderSum.Tree(l21, h21) + biases[s1 * biasStride + r2];
                        ys[s0 * yStride + r2] = FixedOrderSum.Tree(l20, h20) + biases[s0 * biasStride + r2];
                        ys[s1 * yStride + r1] = FixedOrderSum.Tree(l11, h11) + biases[s1 * biasStride + r1];
                        ys[s0 * yStride + r1] = FixedOrderSum.Tree(l10, h10) + biases[s0 * biasStride + r1];
                        ys[s1 * yStride + r0] = FixedOrderSum.Tree(l01, h01) + biases[s1 * biasStride + r0];
                        ys[s0 * yStride + r0] = FixedOrderSum.Tree(l00, h00) + biases[s0 * biasStride + r0];
                    }
                }
            }
        }
        return true;
    }

    /// <summary>The 512-bit tiles, fused or not as the 512-bit single-session kernels are in <paramref name="mode"/>.</summary>
    private static bool MultiplyPairVector512<TDecoder>(KernelMode mode, TDecoder d1, in WeightRows w1, ReadOnlySpan<float> xs, TDecoder d2, in WeightRows w2, ReadOnlySpan<float> hs,
        ReadOnlySpan<float> biases, int biasStride, Span<float> ys, int yStride, int rows, int sessions)
        where TDecoder : struct, IWeightDecoder
        => mode.Strict
            ? MultiplyPairVector512<TDecoder, RoundedMultiplyAdd>(d1, w1, xs, d2, w2, hs, biases, biasStride, ys, yStride, rows, sessions)
            : MultiplyPairVector512<TDecoder, FusedMultiplyAdd>(d1, w1, xs, d2, w2, hs, biases, biasStride, ys, yStride, rows, sessions);

    /// <summary>
    /// The 512-bit path, f32 or f16 (<typeparamref name="TDecoder"/>): tiles of six rows × four sessions, each (row,
    /// session) pair summing its 16 lanes in one vector exactly as <see cref="MatrixVector.MultiplyPairVector512"/> and
    /// the 512-bit encoded kernel do. AVX-512's 32 registers hold the 24 accumulators, the four sessions' inputs and a
    /// weight vector, so each weight load (and f16 decode) serves four multiply-adds and each input load six: 10 loads
    /// per 24 multiply-adds, against 10 per 12 in the 256-bit 3 × 2 tile, whose loads bound it on the AVX2 machine it
    /// was tuned on. On an AVX-512 Xeon, 32 sessions of the shipped model's products ran 1.6–2.0× as fast as in the
    /// 256-bit tiles (f16 1.75×); 8 × 3, 5 × 5, 4 × 6 and 3 × 8 tiles reached 0.98, 0.95, 0.86 and 0.79 of this one
    /// (docs/performance-history.md).
    /// <para>
    /// Order: a group of sessions (all of them, up to <see cref="GroupInputBytes512"/> of inputs, which stay in L2)
    /// meets every six-row tile in turn; the tile's weights come from L3 or memory for the group's first four sessions
    /// and from L1 for the rest, and while the group works on them it hints the next tile's, spread over its session
    /// tiles. Groups of 32 and 64 KB, which keep the inputs in L1 and read the weights from L2 once per group instead,
    /// ran at 0.86 and 0.97 of that. A last row or session short of a whole tile is computed again.
    /// </para>
    /// <para>
    /// f16 scales the group's vectors into a stack copy as the 256-bit tiles do, so its groups hold at most
    /// <see cref="MaxScaledFloats"/> floats. Returns false when a vector is beyond the scalable range or four sessions'
    /// copies would not fit: the caller then takes the 256-bit tiles, which give the same bits.
    /// </para>
    /// </summary>
    internal static bool MultiplyPairVector512<TDecoder, TMultiplyAdd>(TDecoder d1, in WeightRows w1, ReadOnlySpan<float> xs, TDecoder d2, in WeightRows w2, ReadOnlySpan<float> hs,
        ReadOnlySpan<float> biases, int biasStride, Span<float> ys, int yStride, int rows, int sessions)
        where TDecoder : struct, IWeightDecoder
        where TMultiplyAdd : struct, IMultiplyAdd
    {
        CheckShapes(w1, xs, rows, sessions, nameof(w1));
        CheckShapes(w2, hs, rows, sessions, nameof(w2));
        CheckOutputs(biases, biasStride, ys, yStride, rows, sessions);
        if (sessions == 0 || rows == 0) return true;
        TMultiplyAdd madd = default;
        int n1 = xs.Length / sessions, n2 = hs.Length / sessions, rowFloats = n1 + n2;
        bool scales = d1.VectorScale != 1f || d2.VectorScale != 1f; // f16 always (2^102 to 2^112), f32 never
        int groupFloats = scales ? MaxScaledFloats : GroupInputBytes512 / sizeof(float);
        int groupSessions = groupFloats / Math.Max(1, rowFloats) / Tile512Sessions * Tile512Sessions;
        if (groupSessions == 0) return false;
        Span<float> scaled = stackalloc float[scales ? Math.Min(groupSessions, sessions) * rowFloats : 0]; // (group sessions, n1 + n2): x then h, scaled
        // Zero-padded tail blocks: six rows' decoded weights then four sessions' unscaled values, for x and for h.
        Span<float> pads = stackalloc float[2 * Pad512Blocks * Lanes];
        pads.Clear();
        int lastRow = rows - 1, lastSession = sessions - 1;
        for (int group = 0; group < sessions; group += groupSessions)
        {
            int groupEnd = Math.Min(group + groupSessions, sessions);
            if (scales && !TryScaleGroup(xs, n1, d1.VectorScale, hs, n2, d2.VectorScale, group, groupEnd, scaled)) return false;
            for (int r0 = 0; r0 < rows; r0 += Tile512Rows)
            {
                int r1 = Math.Min(r0 + 1, lastRow), r2 = Math.Min(r0 + 2, lastRow), r3 = Math.Min(r0 + 3, lastRow), r4 = Math.Min(r0 + 4, lastRow), r5 = Math.Min(r0 + 5, lastRow);
                for (int s0 = group; s0 < groupEnd; s0 += Tile512Sessions)
                {
                    int s1 = Math.Min(s0 + 1, lastSession), s2 = Math.Min(s0 + 2, lastSession), s3 = Math.Min(s0 + 3, lastSession);
                    // aRS: row R, session S
                    Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
                    Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
                    Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
                    Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default;
                    Vector512<float> a40 = default, a41 = default, a42 = default, a43 = default;
                    Vector512<float> a50 = default, a51 = default, a52 = default, a53 = default;
                    for (int part = 0; part < 2; part++)
                    {
                        int n = part == 0 ? n1 : n2;
                        if (n == 0) continue; // W1 left out: no weights to address
                        TDecoder d = part == 0 ? d1 : d2;
                        WeightRows w = part == 0 ? w1 : w2;
                        ReadOnlySpan<float> v = part == 0 ? xs : hs;
                        int offset = part == 0 ? 0 : n1;
                        nuint whole = (nuint)(n - n % Lanes);
                        ref float in0 = ref SessionInput(scales, scaled, v, s0, group, rowFloats, offset, n);
                        ref float in1 = ref SessionInput(scales, scaled, v, s1, group, rowFloats, offset, n);
                        ref float in2 = ref SessionInput(scales, scaled, v, s2, group, rowFloats, offset, n);
                        ref float in3 = ref SessionInput(scales, scaled, v, s3, group, rowFloats, offset, n);
                        nuint row0 = EncodedMatrixVector.RowStart(w, r0), row1 = EncodedMatrixVector.RowStart(w, r1), row2 = EncodedMatrixVector.RowStart(w, r2);
                        nuint row3 = EncodedMatrixVector.RowStart(w, r3), row4 = EncodedMatrixVector.RowStart(w, r4), row5 = EncodedMatrixVector.RowStart(w, r5);
                        ref byte at0 = ref d.Element(row0), at1 = ref d.Element(row1), at2 = ref d.Element(row2);
                        ref byte at3 = ref d.Element(row3), at4 = ref d.Element(row4), at5 = ref d.Element(row5);
                        // The next row tile's bytes of this part, spread over the group's session tiles: each hints its
                        // share a few lines per block, so the tile is in cache when its first sessions need it.
                        int blocks = (int)(whole / Lanes), tilesInGroup = (groupEnd - group + Tile512Sessions - 1) / Tile512Sessions;
                        int partLines = (Tile512Rows * n * d.StoredBytes + Prefetch.LineBytes - 1) / Prefetch.LineBytes;
                        int linesPerBlock = Math.Min(4, Math.Max(1, (partLines + tilesInGroup * blocks - 1) / Math.Max(1, tilesInGroup * blocks)));
                        nuint nextTile = d.Address(row0 + Tile512Rows * (nuint)n), hintEnd = nextTile + (nuint)(partLines * Prefetch.LineBytes);
                        nuint hintStep = (nuint)(linesPerBlock * Prefetch.LineBytes), hint = nextTile + (nuint)((s0 - group) / Tile512Sessions * blocks) * hintStep;
                        for (nuint j = 0; j < whole; j += Lanes, hint += hintStep)
                        {
                            if (hint < hintEnd) Prefetch.Lines(hint, linesPerBlock);
                            Vector512<float> x0 = Vector512.LoadUnsafe(ref in0, j), x1 = Vector512.LoadUnsafe(ref in1, j), x2 = Vector512.LoadUnsafe(ref in2, j), x3 = Vector512.LoadUnsafe(ref in3, j);
                            Vector512<float> weights = d.Load(ref at0, j);
                            a00 = madd.Invoke(weights, x0, a00);
                            a01 = madd.Invoke(weights, x1, a01);
                            a02 = madd.Invoke(weights, x2, a02);
                            a03 = madd.Invoke(weights, x3, a03);
                            weights = d.Load(ref at1, j);
                            a10 = madd.Invoke(weights, x0, a10);
                            a11 = madd.Invoke(weights, x1, a11);
                            a12 = madd.Invoke(weights, x2, a12);
                            a13 = madd.Invoke(weights, x3, a13);
                            weights = d.Load(ref at2, j);
                            a20 = madd.Invoke(weights, x0, a20);
                            a21 = madd.Invoke(weights, x1, a21);
                            a22 = madd.Invoke(weights, x2, a22);
                            a23 = madd.Invoke(weights, x3, a23);
                            weights = d.Load(ref at3, j);
                            a30 = madd.Invoke(weights, x0, a30);
                            a31 = madd.Invoke(weights, x1, a31);
                            a32 = madd.Invoke(weights, x2, a32);
                            a33 = madd.Invoke(weights, x3, a33);
                            weights = d.Load(ref at4, j);
                            a40 = madd.Invoke(weights, x0, a40);
                            a41 = madd.Invoke(weights, x1, a41);
                            a42 = madd.Invoke(weights, x2, a42);
                            a43 = madd.Invoke(weights, x3, a43);
                            weights = d.Load(ref at5, j);
                            a50 = madd.Invoke(weights, x0, a50);
                            a51 = madd.Invoke(weights, x1, a51);
                            a52 = madd.Invoke(weights, x2, a52);
                            a53 = madd.Invoke(weights, x3, a53);
                        }
                        if (whole < (nuint)n)
                        {
                            // Plain loops: a call inside the tile would make the JIT keep the accumulators in memory.
                            Span<float> pad = pads.Slice(part * Pad512Blocks * Lanes, Pad512Blocks * Lanes);
                            for (int k = (int)whole; k < n; k++)
                            {
                                pad[k - (int)whole] = d.Get(row0 + (nuint)k);
                                pad[Lanes + k - (int)whole] = d.Get(row1 + (nuint)k);
                                pad[2 * Lanes + k - (int)whole] = d.Get(row2 + (nuint)k);
                                pad[3 * Lanes + k - (int)whole] = d.Get(row3 + (nuint)k);
                                pad[4 * Lanes + k - (int)whole] = d.Get(row4 + (nuint)k);
                                pad[5 * Lanes + k - (int)whole] = d.Get(row5 + (nuint)k);
                            }
                            MatrixVector.CopyTail(v.Slice(s0 * n, n), pad.Slice(6 * Lanes, Lanes));
                            MatrixVector.CopyTail(v.Slice(s1 * n, n), pad.Slice(7 * Lanes, Lanes));
                            MatrixVector.CopyTail(v.Slice(s2 * n, n), pad.Slice(8 * Lanes, Lanes));
                            MatrixVector.CopyTail(v.Slice(s3 * n, n), pad.Slice(9 * Lanes, Lanes));
                            ref float p = ref MemoryMarshal.GetReference(pad);
                                Vector512<float> x0 = Vector512.LoadUnsafe(ref p, 6 * Lanes), x1 = Vector512.LoadUnsafe(ref p, 7 * Lanes), x2 = Vector512.LoadUnsafe(ref p, 8 * Lanes), x3 = Vector512.LoadUnsafe(ref p, 9 * Lanes);
                                Vector512<float> weights = Vector512.LoadUnsafe(ref p);
                                a00 = madd.Invoke(weights, x0, a00);
                                a01 = madd.Invoke(weights, x1, a01);
                                a02 = madd.Invoke(weights, x2, a02);
                                a03 = madd.Invoke(weights, x3, a03);
                                weights = Vector512.LoadUnsafe(ref p, 1 * Lanes);
                                a10 = madd.Invoke(weights, x0, a10);
                                a11 = madd.Invoke(weights, x1, a11);
                                a12 = madd.Invoke(weights, x2, a12);
                                a13 = madd.Invoke(weights, x3, a13);
                                weights = Vector512.LoadUnsafe(ref p, 2 * Lanes);
                                a20 = madd.Invoke(weights, x0, a20);
                                a21 = madd.Invoke(weights, x1, a21);
                                a22 = madd.Invoke(weights, x2, a22);
                                a23 = madd.Invoke(weights, x3, a23);
                                weights = Vector512.LoadUnsafe(ref p, 3 * Lanes);
                                a30 = madd.Invoke(weights, x0, a30);
                                a31 = madd.Invoke(weights, x1, a31);
                                a32 = madd.Invoke(weights, x2, a32);
                                a33 = madd.Invoke(weights, x3, a33);
                                weights = Vector512.LoadUnsafe(ref p, 4 * Lanes);
                                a40 = madd.Invoke(weights, x0, a40);
                                a41 = madd.Invoke(weights, x1, a41);
                                a42 = madd.Invoke(weights, x2, a42);
                                a43 = madd.Invoke(weights, x3, a43);
                                weights = Vector512.LoadUnsafe(ref p, 5 * Lanes);
                                a50 = madd.Invoke(weights, x0, a50);
                                a51 = madd.Invoke(weights, x1, a51);
                                a52 = madd.Invoke(weights, x2, a52);
                                a53 = madd.Invoke(weights, x3, a53);
                        }
                    }
                    StoreSessions(FixedOrderSum.Trees(a50, a51, a52, a53), r5, s0, s1, s2, s3, biases, biasStride, ys, yStride);
                    StoreSessions(FixedOrderSum.Trees(a40, a41, a42, a43), r4, s0, s1, s2, s3, biases, biasStride, ys, yStride);
                    StoreSessions(FixedOrderSum.Trees(a30, a31, a32, a33), r3, s0, s1, s2, s3, biases, biasStride, ys, yStride);
                    StoreSessions(FixedOrderSum.Trees(a20, a21, a22, a23), r2, s0, s1, s2, s3, biases, biasStride, ys, yStride);
                    StoreSessions(FixedOrderSum.Trees(a10, a11, a12, a13), r1, s0, s1, s2, s3, biases, biasStride, ys, yStride);
                    StoreSessions(FixedOrderSum.Trees(a00, a01, a02, a03), r0, s0, s1, s2, s3, biases, biasStride, ys, yStride);

                }
            }
        }
        return true;
    }

    /// <summary>
    /// Where a tile reads <paramref name="session"/>'s values of one part (<paramref name="n"/> of them): its scaled copy
    /// in the group's buffer (rows of <paramref name="rowFloats"/>, the part at <paramref name="offset"/>) when the
    /// decoders scale, else the caller's vector in place.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref float SessionInput(bool scales, Span<float> scaled, ReadOnlySpan<float> v, int session, int group, int rowFloats, int offset, int n)
        => ref scales ? ref scaled[(session - group) * rowFloats + offset] : ref MemoryMarshal.GetReference(v.Slice(session * n));

    /// <summary>
    /// Sessions <paramref name="group"/>..<paramref name="groupEnd"/>'s x (<paramref name="n1"/> each) and h
    /// (<paramref name="n2"/>), scaled as <see cref="EncodedMatrixVector.TryScale"/> scales them, into
    /// <paramref name="scaled"/>: a row of x then h per session. False when a value is beyond the scalable range.
    /// </summary>
    private static bool TryScaleGroup(ReadOnlySpan<float> xs, int n1, float xScale, ReadOnlySpan<float> hs, int n2, float hScale, int group, int groupEnd, Span<float> scaled)
    {
        for (int s = group; s < groupEnd; s++)
        {
            Span<float> row = scaled.Slice((s - group) * (n1 + n2), n1 + n2);
            if (!EncodedMatrixVector.TryScale(xs.Slice(s * n1, n1), xScale, row.Slice(0, n1)) | !EncodedMatrixVector.TryScale(hs.Slice(s * n2, n2), hScale, row.Slice(n1))) return false;
        }
        return true;
    }

    /// <summary><c>ys[s_k·yStride + row] = sums[k] + biases[s_k·biasStride + row]</c> for a tile's four sessions s_0..s_3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreSessions(Vector128<float> sums, int row, int s0, int s1, int s2, int s3, ReadOnlySpan<float> biases, int biasStride, Span<float> ys, int yStride)
    {
        ys[s3 * yStride + row] = sums.GetElement(3) + biases[s3 * biasStride + row];
        ys[s2 * yStride + row] = sums.GetElement(2) + biases[s2 * biasStride + row];
        ys[s1 * yStride + row] = sums.GetElement(1) + biases[s1 * biasStride + row];
        ys[s0 * yStride + row] = sums.GetElement(0) + biases[s0 * biasStride + row];
    }
#endif

    private static void CheckShapes(in WeightRows w, ReadOnlySpan<float> vs, int rows, int sessions, string name)
    {
        if (rows < 0 || sessions < 0) throw new ArgumentOutOfRangeException(nameof(rows), $"{rows} rows × {sessions} sessions");
        if (vs.Length > 0 && (w.Rows != rows || (long)w.Columns * sessions != vs.Length))
            throw new ArgumentException($"a {w.Rows}×{w.Columns} matrix cannot map {sessions} sessions' {vs.Length} values to {rows} rows", name);
    }

    private static void CheckShapes(ReadOnlySpan<float> w1, ReadOnlySpan<float> xs, ReadOnlySpan<float> w2, ReadOnlySpan<float> hs,
        ReadOnlySpan<float> biases, int biasStride, Span<float> ys, int yStride, int rows, int sessions)
    {
        CheckOutputs(biases, biasStride, ys, yStride, rows, sessions);
        if (sessions == 0) return;
        if (xs.Length % sessions != 0 || w1.Length != (long)rows * (xs.Length / sessions)) throw new ArgumentException($"W1 holds {w1.Length} floats, {sessions} sessions' x {xs.Length}, for {rows} rows", nameof(w1));
        if (hs.Length % sessions != 0 || w2.Length != (long)rows * (hs.Length / sessions)) throw new ArgumentException($"W2 holds {w2.Length} floats, {sessions} sessions' h {hs.Length}, for {rows} rows", nameof(w2));
    }

    private static void CheckOutputs(ReadOnlySpan<float> biases, int biasStride, Span<float> ys, int yStride, int rows, int sessions)
    {
        if (rows < 0 || sessions < 0) throw new ArgumentOutOfRangeException(nameof(rows), $"{rows} rows × {sessions} sessions");
        if (sessions == 0) return;
        if (biasStride < 0 || biases.Length < (long)(sessions - 1) * biasStride + rows) throw new ArgumentException($"biases hold {biases.Length} floats, too few for {sessions} sessions × {rows} rows at stride {biasStride}", nameof(biases));
        // A stride below the row count would let one session's results overwrite another's.
        if (yStride < rows || ys.Length < (long)(sessions - 1) * yStride + rows) throw new ArgumentException($"ys holds {ys.Length} floats, too few for {sessions} sessions × {rows} rows at stride {yStride}", nameof(ys));
    }
}
