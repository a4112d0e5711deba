using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TextGen.Runtime.Format;
#if NET8_0_OR_GREATER
using System.Runtime.Intrinsics;
#endif

namespace TextGen.Runtime.Kernels;

/// <summary>
/// The hot spot: almost all of a step's time goes here, streaming each weight matrix once per character.
/// <c>y[r] = W1[r,:]·x + W2[r,:]·h + bias[r]</c> in one pass over the rows of both matrices (a layer's input and
/// hidden weights). Each row's products go to the lanes of <see cref="FixedOrderSum"/> (x's from lane 0, then h's
/// from lane 0 again), the lane tree reduces them, and the bias is added last. Every path follows that order.
/// </summary>
internal static class MatrixVector
{
    private const int Lanes = FixedOrderSum.Lanes;

    /// <summary><c>y = W·x + bias</c>. W: (y.Length, x.Length), row-major.</summary>
    public static void Multiply(KernelMode mode, ReadOnlySpan<float> w, ReadOnlySpan<float> x, ReadOnlySpan<float> bias, Span<float> y)
        => MultiplyPair(mode, w, x, ReadOnlySpan<float>.Empty, ReadOnlySpan<float>.Empty, bias, y);

    /// <summary><c>y = W1·x + W2·h + bias</c>. W1: (y.Length, x.Length), W2: (y.Length, h.Length), row-major.</summary>
    public static void MultiplyPair(KernelMode mode, ReadOnlySpan<float> w1, ReadOnlySpan<float> x, ReadOnlySpan<float> w2, ReadOnlySpan<float> h, ReadOnlySpan<float> bias, Span<float> y)
    {
        switch (mode.Path)
        {
#if NET8_0_OR_GREATER
            case KernelPath.Vector256:
            // Matrices this large are bound by reading memory, where the read order of the 256-bit quarter tiles is what
            // measured faster and 256-bit loads already outrun any L3; lanes and order are the 512-bit kernel's, so are
            // the bits, also for the few rows the 512-bit tiles cannot cover.
            case KernelPath.Vector512 when y.Length < TileRows512 || (long)(w1.Length + w2.Length) * sizeof(float) >= QuarterTilesMinBytes:
                if (mode.FusesAt256Bits) MultiplyPairVector256<FusedMultiplyAdd>(mode.PrefetchesWeights, w1, x, w2, h, bias, y);
                else MultiplyPairVector256<RoundedMultiplyAdd>(mode.PrefetchesWeights, w1, x, w2, h, bias, y);
                break;
            case KernelPath.Vector512 when mode.Strict:
                MultiplyPairVector512<RoundedMultiplyAdd>(mode.PrefetchesWeights, w1, x, w2, h, bias, y);
                break;
            case KernelPath.Vector512:
                MultiplyPairVector512<FusedMultiplyAdd>(mode.PrefetchesWeights, w1, x, w2, h, bias, y);
                break;
#endif
            case KernelPath.Vector:
                MultiplyPairVector(w1, x, w2, h, bias, y);
                break;
            default:
                MultiplyPairScalar(w1, x, w2, h, bias, y);
                break;
        }
    }

    /// <summary><c>y = W·x + bias</c> with W in any dtype.</summary>
    public static void Multiply(KernelMode mode, in WeightRows w, ReadOnlySpan<float> x, ReadOnlySpan<float> bias, Span<float> y)
        => MultiplyPair(mode, WeightRows.Empty, ReadOnlySpan<float>.Empty, w, x, bias, y);

    /// <summary>
    /// <c>y = W1·x + W2·h + bias</c> with both matrices in one dtype (a file's matrices share theirs): f32 runs the
    /// span kernels above, f16 <see cref="EncodedMatrixVector"/>, q8 <see cref="RowQ8MatrixVector"/> or, with block scales, <see cref="Q8MatrixVector"/>. An empty x ignores W1.
    /// </summary>
    public static void MultiplyPair(KernelMode mode, in WeightRows w1, ReadOnlySpan<float> x, in WeightRows w2, ReadOnlySpan<float> h, ReadOnlySpan<float> bias, Span<float> y)
    {
        CheckShapes(w1, x, y);
        CheckShapes(w2, h, y);
        if (bias.Length != y.Length) throw new ArgumentException($"bias holds {bias.Length} floats, not {y.Length}", nameof(bias));
        TensorDType dtype = h.Length > 0 ? w2.DType : w1.DType;
        if (x.Length > 0 && h.Length > 0 && w1.DType != w2.DType) throw new ArgumentException($"W1 is {w1.DType} but W2 is {w2.DType}", nameof(w2));
        switch (dtype)
        {
            case TensorDType.F16:
                switch (EncodedMatrixVector.PairedHalves(w1, x.Length, w2, h.Length))
                {
                    case true:
                        EncodedMatrixVector.MultiplyPair(mode, new PairedFloat16Weights(w1), w1, x, new PairedFloat16Weights(w2), w2, h, bias, y);
                        break;
                    case false:
                        EncodedMatrixVector.MultiplyPair(mode, new Float16Weights(w1), w1, x, new Float16Weights(w2), w2, h, bias, y);
                        break;
                    default:
                        EncodedMatrixVector.MultiplyPairScalar(w1, x, w2, h, bias, y);
                        break;
                }
                break;
            case TensorDType.Q8 when (h.Length > 0 ? w2 : w1).RowScaledQuants:
                if (x.Length > 0 && h.Length > 0 && !w1.RowScaledQuants) throw new ArgumentException("W1 has q8 block scales but W2 row scales", nameof(w2));
                RowQ8MatrixVector.MultiplyPair(mode, w1, x, w2, h, bias, y);
                break;
            case TensorDType.Q8:
                if (x.Length > 0 && h.Length > 0 && w1.RowScaledQuants) throw new ArgumentException("W1 has q8 row scales but W2 block scales", nameof(w2));
                Q8MatrixVector.MultiplyPair(mode, w1, x, w2, h, bias, y);
                break;
            default:
                MultiplyPair(mode, x.Length > 0 ? w1.FloatSpan : default, x, h.Length > 0 ? w2.FloatSpan : default, h, bias, y);
                break;
        }
    }

    private static void CheckShapes(in WeightRows w, ReadOnlySpan<float> v, Span<float> y)
    {
        if (v.Length > 0 && (w.Rows != y.Length || w.Columns != v.Length)) throw new ArgumentException($"a {w.Rows}×{w.Columns} matrix cannot map {v.Length} values to {y.Length}", nameof(w));
    }

    /// <summary>The reference: the definition of the summation order, one product at a time.</summary>
    internal static void MultiplyPairScalar(ReadOnlySpan<float> w1, ReadOnlySpan<float> x, ReadOnlySpan<float> w2, ReadOnlySpan<float> h, ReadOnlySpan<float> bias, Span<float> y)
    {
        CheckShapes(w1, x, w2, h, bias, y);
        Span<float> lanes = stackalloc float[Lanes];
        for (int r = 0; r < y.Length; r++)
        {
            lanes.Clear();
            AccumulateScalar(w1.Slice(r * x.Length, x.Length), x, lanes);
            AccumulateScalar(w2.Slice(r * h.Length, h.Length), h, lanes);
            y[r] = FixedOrderSum.Tree(lanes) + bias[r];
        }
    }

    /// <summary>
    /// Lane l adds the products of elements l, l+16, l+32, … in that order. The lanes are independent, so four at a
    /// time run in locals (registers) over the row: adding every product into <paramref name="lanes"/> in memory was
    /// half the speed of this where nothing is vectorized (the scalar path is what IL2CPP builds run).
    /// </summary>
    private static void AccumulateScalar(ReadOnlySpan<float> row, ReadOnlySpan<float> v, Span<float> lanes)
    {
        int n = v.Length;
        for (int l = 0; l < Lanes; l += 4)
        {
            float a0 = lanes[l], a1 = lanes[l + 1], a2 = lanes[l + 2], a3 = lanes[l + 3];
            int j = l;
            for (; j + 3 < n; j += Lanes)
            {
                a0 += row[j] * v[j];
                a1 += row[j + 1] * v[j + 1];
                a2 += row[j + 2] * v[j + 2];
                a3 += row[j + 3] * v[j + 3];
            }
            if (j < n) a0 += row[j] * v[j];
            if (j + 1 < n) a1 += row[j + 1] * v[j + 1];
            if (j + 2 < n) a2 += row[j + 2] * v[j + 2];
            lanes[l] = a0;
            lanes[l + 1] = a1;
            lanes[l + 2] = a2;
            lanes[l + 3] = a3;
        }
    }

    /// <summary>
    /// Floats of the <see cref="Vector{T}"/> path's zero-padded tail blocks: x's and h's, then the W1 row tails of a
    /// <see cref="MultiplyRowTile"/> tile's three rows, then their W2 row tails.
    /// </summary>
    internal const int VectorTailFloats = 8 * Lanes;

    /// <summary>
    /// The <see cref="Vector{T}"/> path (ARM NEON, SSE-only x64, the netstandard2.1 build): tiles of three rows, one
    /// from each third of the matrices (<see cref="MultiplyRowTile"/>).
    /// </summary>
    internal static void MultiplyPairVector(ReadOnlySpan<float> w1, ReadOnlySpan<float> x, ReadOnlySpan<float> w2, ReadOnlySpan<float> h, ReadOnlySpan<float> bias, Span<float> y)
    {
        CheckShapes(w1, x, w2, h, bias, y);
        Span<float> tails = stackalloc float[VectorTailFloats];
        PadTail(x, tails.Slice(0, Lanes));
        PadTail(h, tails.Slice(Lanes, Lanes));
        int tiles = RowTileCount(y.Length);
        for (int tile = 0; tile < tiles; tile++)
        {
            PadRowTails(w1, x.Length, w2, h.Length, tile, y.Length, tails);
            MultiplyRowTile(w1, x, w2, h, bias, y, tile, tails);
        }
    }

    /// <summary>The tiles of <see cref="MultiplyRowTile"/> that cover <paramref name="rows"/> rows: a third of them, rounded up.</summary>
    internal static int RowTileCount(int rows) => (rows + 2) / 3;

    /// <summary>
    /// Row <paramref name="k"/> (0..2) of tile <paramref name="tile"/>: the tile's row of the k-th third, or the last row
    /// where that third runs out (as <c>TileRows.Quarters</c> takes quarters for the 256-bit kernels).
    /// </summary>
    internal static int TileRow(int tile, int k, int rows) => Math.Min(tile + k * RowTileCount(rows), rows - 1);

    /// <summary>
    /// Copies the W1 and W2 tails of tile <paramref name="tile"/>'s rows into <paramref name="tails"/> (<see cref="VectorTailFloats"/>),
    /// after its x and h blocks; a tile's rows share them across sessions.
    /// </summary>
    internal static void PadRowTails(ReadOnlySpan<float> w1, int n1, ReadOnlySpan<float> w2, int n2, int tile, int rows, Span<float> tails)
    {
        for (int part = 0; part < 2; part++)
        {
            ReadOnlySpan<float> w = part == 0 ? w1 : w2;
            int n = part == 0 ? n1 : n2;
            if (n % Lanes == 0) continue;
            for (int k = 0; k < 3; k++)
            {
                int row = TileRow(tile, k, rows);
                PadTail(w.Slice(row * n, n), tails.Slice((2 + 3 * part + k) * Lanes, Lanes));
            }
        }
    }

    /// <summary>
    /// Rows t, t + T and t + 2T of <c>y = W1·x + W2·h + bias</c>, where T = <see cref="RowTileCount"/> and rows past
    /// the end repeat the last (the same bits, stored twice). A 16-lane block is 16/Count vectors (Count is 4, 8 or
    /// 16), accumulated in locals of which the JIT keeps only those the width needs; in order, they are the lanes.
    /// Each input vector is loaded once for three rows, and with 4-float vectors the tile's twelve add chains and the
    /// loads fill SSE's 16 registers without a spill. The rows come from three thirds, not side by side: three
    /// sequential streams, which the hardware prefetcher follows, where adjacent rows (interleaved reads 2 KB apart)
    /// ran the shipped model at 0.57–0.90× the speed of one row at a time on a Zen 3. The loads address spans sliced
    /// (and so bounds-checked) once per row, without a check each. <paramref name="tails"/> holds x's and h's padded
    /// tail blocks and the tile's row tails (<see cref="PadRowTails"/>). Compiled fully optimized at its first call, as
    /// the 256-bit tiles are (see TailFloats): a game's first characters would otherwise run tier-0 code.
    /// </summary>
#if NET8_0_OR_GREATER
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
#endif
    internal static void MultiplyRowTile(ReadOnlySpan<float> w1, ReadOnlySpan<float> x, ReadOnlySpan<float> w2, ReadOnlySpan<float> h, ReadOnlySpan<float> bias, Span<float> y,
        int tile, ReadOnlySpan<float> tails)
    {
        int rows = y.Length, width = Vector<float>.Count;
        int ra = TileRow(tile, 0, rows), rb = TileRow(tile, 1, rows), rc = TileRow(tile, 2, rows);
        Vector<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector<float> b0 = default, b1 = default, b2 = default, b3 = default;
        Vector<float> c0 = default, c1 = default, c2 = default, c3 = default;
        for (int part = 0; part < 2; part++)
        {
            ReadOnlySpan<float> v = part == 0 ? x : h, w = part == 0 ? w1 : w2;
            int n = v.Length, whole = n - n % Lanes;
            ref float vs = ref MemoryMarshal.GetReference(v);
            ref float wa = ref MemoryMarshal.GetReference(w.Slice(ra * n, n));
            ref float wb = ref MemoryMarshal.GetReference(w.Slice(rb * n, n));
            ref float wc = ref MemoryMarshal.GetReference(w.Slice(rc * n, n));
            // the whole blocks, then the zero-padded tail as one more block
            for (int pass = 0; pass < 2; pass++)
            {
                for (int k = 0; k < whole; k += Lanes)
                {
                    Vector<float> v0 = VectorLoad.At(ref vs, k);
                    a0 += VectorLoad.At(ref wa, k) * v0;
                    b0 += VectorLoad.At(ref wb, k) * v0;
                    c0 += VectorLoad.At(ref wc, k) * v0;
                    if (width <= 8)
                    {
                        Vector<float> v1 = VectorLoad.At(ref vs, k + width);
                        a1 += VectorLoad.At(ref wa, k + width) * v1;
                        b1 += VectorLoad.At(ref wb, k + width) * v1;
                        c1 += VectorLoad.At(ref wc, k + width) * v1;
                    }
                    if (width == 4)
                    {
                        Vector<float> v2 = VectorLoad.At(ref vs, k + 8), v3 = VectorLoad.At(ref vs, k + 12);
                        a2 += VectorLoad.At(ref wa, k + 8) * v2;
                        b2 += VectorLoad.At(ref wb, k + 8) * v2;
                        c2 += VectorLoad.At(ref wc, k + 8) * v2;
                        a3 += VectorLoad.At(ref wa, k + 12) * v3;
                        b3 += VectorLoad.At(ref wb, k + 12) * v3;
                        c3 += VectorLoad.At(ref wc, k + 12) * v3;
                    }
                }
                if (whole == n) break;
                ReadOnlySpan<float> rowTails = tails.Slice((2 + 3 * part) * Lanes, 3 * Lanes);
                vs = ref MemoryMarshal.GetReference(tails.Slice(part * Lanes, Lanes));
                wa = ref MemoryMarshal.GetReference(rowTails);
                wb = ref MemoryMarshal.GetReference(rowTails.Slice(Lanes));
                wc = ref MemoryMarshal.GetReference(rowTails.Slice(2 * Lanes));
                whole = n = Lanes;
            }
        }
        // Repeated rows are stored last to first, so each row ends with its own sum (they are equal anyway).
        y[rc] = FixedOrderSum.Tree(c0, c1, c2, c3) + bias[rc];
        y[rb] = FixedOrderSum.Tree(b0, b1, b2, b3) + bias[rb];
        y[ra] = FixedOrderSum.Tree(a0, a1, a2, a3) + bias[ra];
    }

    /// <summary>
    /// Copies the last <c>Length mod 16</c> elements into a zeroed 16-float block. The padding adds +0 products,
    /// which leave every lane unchanged: a lane starts at +0 and round-to-nearest never turns it into −0.
    /// </summary>
    internal static void PadTail(ReadOnlySpan<float> source, Span<float> block)
    {
        block.Clear();
        source.Slice(source.Length - source.Length % Lanes).CopyTo(block);
    }

    /// <summary>
    /// The last <c>Length mod 16</c> elements into the front of <paramref name="block"/>, whose rest the caller
    /// cleared once. A plain loop: a call inside a row loop would make the JIT spill the accumulators to memory
    /// (every vector register is caller-saved on x64 Linux).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void CopyTail(ReadOnlySpan<float> source, Span<float> block)
    {
        int whole = source.Length - source.Length % Lanes;
        for (int k = whole; k < source.Length; k++) block[k - whole] = source[k];
    }

    private static void CheckShapes(ReadOnlySpan<float> w1, ReadOnlySpan<float> x, ReadOnlySpan<float> w2, ReadOnlySpan<float> h, ReadOnlySpan<float> bias, Span<float> y)
    {
        if (w1.Length != (long)y.Length * x.Length) throw new ArgumentException($"W1 holds {w1.Length} floats, not {y.Length}×{x.Length}", nameof(w1));
        if (w2.Length != (long)y.Length * h.Length) throw new ArgumentException($"W2 holds {w2.Length} floats, not {y.Length}×{h.Length}", nameof(w2));
        if (bias.Length != y.Length) throw new ArgumentException($"bias holds {bias.Length} floats, not {y.Length}", nameof(bias));
    }

#if NET8_0_OR_GREATER
    /// <summary>
    /// From this many bytes of f32 weights in one call (a 2×512 LSTM's layers, not a 2×128's), the 256-bit kernel
    /// reads <see cref="TileRows.Quarters"/> with the hardware prefetcher instead of adjacent tiles with software
    /// prefetch: 1.13–1.25× the chars/s on the shipped and a random 2×512 model, neutral at hidden 256 (2 MB a
    /// layer), 0.97× at hidden 128, whose layers stay in the caches (docs/performance-history.md). The 512-bit path hands
    /// such matrices to it.
    /// </summary>
    internal const int QuarterTilesMinBytes = 1 << 20;

    /// <summary>
    /// Floats of the four zero-padded tail blocks of the 256- and 512-bit kernels: x's and h's (<see cref="PadTails"/>),
    /// then one for a row of W1 and one for a row of W2 (<see cref="CopyTail"/>), on the tile loop's stack. The tile
    /// loops are compiled fully optimized at their first call, never as tier-0 code first: a game's first characters
    /// would otherwise run a loop several times slower until the runtime recompiles it (the demo's worst frame took
    /// 15–22 ms of work so, against 6 ms).
    /// </summary>
    private const int TailFloats = 4 * Lanes;

    /// <summary>Fills <paramref name="tails"/> (<see cref="TailFloats"/>): x's tail block, h's, and two cleared blocks for rows.</summary>
    private static void PadTails(ReadOnlySpan<float> x, ReadOnlySpan<float> h, Span<float> tails)
    {
        PadTail(x, tails.Slice(0, Lanes));
        PadTail(h, tails.Slice(Lanes, Lanes));
        tails.Slice(2 * Lanes).Clear();
    }

    /// <summary>Floats of a 256-bit tile's sums: four rows of 16 lanes, eight vectors (low0, high0, …, high3 in that order).</summary>
    private const int TileSumFloats = 4 * Lanes;

    /// <summary>
    /// The 256-bit path: lanes 0..7 and 8..15 of a row are two vectors. A tile of four rows (<see cref="TileRows"/>)
    /// gives the CPU eight independent add chains. The accumulators stay locals of this method (a helper taking them by
    /// reference would make the JIT keep them in memory). Adjacent tiles prefetch their share of the next tile with each
    /// block (<see cref="Prefetch"/>) when <paramref name="prefetch"/> says so (<see cref="KernelMode.PrefetchesWeights"/>);
    /// from <see cref="QuarterTilesMinBytes"/> on the tiles take quarters instead, in groups that read W1 and then W2
    /// (<see cref="QuarterTiles"/>).
    /// </summary>
    internal static void MultiplyPairVector256<TMultiplyAdd>(bool prefetch, ReadOnlySpan<float> w1, ReadOnlySpan<float> x, ReadOnlySpan<float> w2, ReadOnlySpan<float> h, ReadOnlySpan<float> bias, Span<float> y)
        where TMultiplyAdd : struct, IMultiplyAdd
    {
        CheckShapes(w1, x, w2, h, bias, y);
        if ((long)(w1.Length + w2.Length) * sizeof(float) >= QuarterTilesMinBytes)
        {
            // A group's W1 sums wait here while its W2 rows are read, in L1.
            Span<float> waiting = stackalloc float[default(QuarterTiles).GroupTiles * TileSumFloats];
            MultiplyPairTiles256<TMultiplyAdd, QuarterTiles>(prefetch, w1, x, w2, h, bias, y, waiting);
        }
        else
        {
            MultiplyPairTiles256<TMultiplyAdd, AdjacentTiles>(prefetch, w1, x, w2, h, bias, y, Span<float>.Empty);
        }
    }

    /// <summary>
    /// <see cref="MultiplyPairVector256{TMultiplyAdd}"/> in tile order <typeparamref name="TTiles"/>. Tiles go in groups
    /// (<see cref="ITileOrder.GroupTiles"/>): each tile of a group reads its W1 rows, leaving its sums in
    /// <paramref name="waiting"/>, then each reads its W2 rows; a group of one keeps them in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // see TailFloats
    private static void MultiplyPairTiles256<TMultiplyAdd, TTiles>(bool prefetch, ReadOnlySpan<float> w1, ReadOnlySpan<float> x, ReadOnlySpan<float> w2, ReadOnlySpan<float> h, ReadOnlySpan<float> bias, Span<float> y, Span<float> waiting)
        where TMultiplyAdd : struct, IMultiplyAdd
        where TTiles : struct, ITileOrder
    {
        TMultiplyAdd madd = default;
        TTiles order = default;
        Span<float> tails = stackalloc float[TailFloats];
        PadTails(x, h, tails);
        Span<float> xTail = tails.Slice(0, Lanes), hTail = tails.Slice(Lanes, Lanes);
        Span<float> w1Tail = tails.Slice(2 * Lanes, Lanes), w2Tail = tails.Slice(3 * Lanes, Lanes);
        int tiles = order.Count(y.Length), groupTiles = order.GroupTiles;
        ref float waitingRef = ref MemoryMarshal.GetReference(waiting);
        Vector256<float> low0 = default, high0 = default, low1 = default, high1 = default;
        Vector256<float> low2 = default, high2 = default, low3 = default, high3 = default;
        for (int first = 0; first < tiles; first += groupTiles)
        {
            int count = groupTiles == 1 ? 1 : Math.Min(groupTiles, tiles - first);
            // Steps 0..count-1 read W1 for the group's tiles in turn, steps count..2·count-1 read W2 for them.
            for (int step = 0; step < 2 * count; step++)
            {
                int part = step < count ? 0 : 1, tile = first + step - part * count;
                TileRows rows = order.Rows(tile, y.Length);
                int r0 = rows.R0, r1 = rows.R1, r2 = rows.R2, r3 = rows.R3;
                ref float saved = ref Unsafe.Add(ref waitingRef, (tile - first) * TileSumFloats);
                if (part == 0)
                {
                    low0 = high0 = low1 = high1 = low2 = high2 = low3 = high3 = Vector256<float>.Zero;
                }
                else if (count > 1)
                {
                    low0 = Vector256.LoadUnsafe(ref saved, 0); high0 = Vector256.LoadUnsafe(ref saved, 8);
                    low1 = Vector256.LoadUnsafe(ref saved, 16); high1 = Vector256.LoadUnsafe(ref saved, 24);
                    low2 = Vector256.LoadUnsafe(ref saved, 32); high2 = Vector256.LoadUnsafe(ref saved, 40);
                    low3 = Vector256.LoadUnsafe(ref saved, 48); high3 = Vector256.LoadUnsafe(ref saved, 56);
                }
                ReadOnlySpan<float> w = part == 0 ? w1 : w2;
                ReadOnlySpan<float> v = part == 0 ? x : h;
                int n = v.Length;
                int whole = n - n % Lanes;
                ref float wRef = ref MemoryMarshal.GetReference(w);
                ref float vRef = ref MemoryMarshal.GetReference(v);
                // One reference per row, so each load is a single [row + 4·j] address.
                ref float row0 = ref Unsafe.Add(ref wRef, (nuint)r0 * (nuint)n), row1 = ref Unsafe.Add(ref wRef, (nuint)r1 * (nuint)n);
                ref float row2 = ref Unsafe.Add(ref wRef, (nuint)r2 * (nuint)n), row3 = ref Unsafe.Add(ref wRef, (nuint)r3 * (nuint)n);
                nuint nextTile = Prefetch.NextTile(ref row0, 4, n);
                for (nuint j = 0; j < (nuint)whole; j += Lanes)
                {
                    if (order.Prefetches && prefetch) Prefetch.Lines(nextTile + 4 * sizeof(float) * j, 4); // this block's 4 rows × 64 bytes, of the next tile
                    Vector256<float> vLow = Vector256.LoadUnsafe(ref vRef, j);
                    Vector256<float> vHigh = Vector256.LoadUnsafe(ref vRef, j + 8);
                    low0 = madd.Invoke(Vector256.LoadUnsafe(ref row0, j), vLow, low0);
                    high0 = madd.Invoke(Vector256.LoadUnsafe(ref row0, j + 8), vHigh, high0);
                    low1 = madd.Invoke(Vector256.LoadUnsafe(ref row1, j), vLow, low1);
                    high1 = madd.Invoke(Vector256.LoadUnsafe(ref row1, j + 8), vHigh, high1);
                    low2 = madd.Invoke(Vector256.LoadUnsafe(ref row2, j), vLow, low2);
                    high2 = madd.Invoke(Vector256.LoadUnsafe(ref row2, j + 8), vHigh, high2);
                    low3 = madd.Invoke(Vector256.LoadUnsafe(ref row3, j), vLow, low3);
                    high3 = madd.Invoke(Vector256.LoadUnsafe(ref row3, j + 8), vHigh, high3);
                }
                if (whole < n)
                {
                    Span<float> wTail = part == 0 ? w1Tail : w2Tail;
                    ref float tRef = ref MemoryMarshal.GetReference(part == 0 ? xTail : hTail);
                    ref float wtRef = ref MemoryMarshal.GetReference(wTail);
                    Vector256<float> vLow = Vector256.LoadUnsafe(ref tRef), vHigh = Vector256.LoadUnsafe(ref tRef, 8);
                    CopyTail(w.Slice(r0 * n, n), wTail);
                    low0 = madd.Invoke(Vector256.LoadUnsafe(ref wtRef), vLow, low0);
                    high0 = madd.Invoke(Vector256.LoadUnsafe(ref wtRef, 8), vHigh, high0);
                    CopyTail(w.Slice(r1 * n, n), wTail);
                    low1 = madd.Invoke(Vector256.LoadUnsafe(ref wtRef), vLow, low1);
                    high1 = madd.Invoke(Vector256.LoadUnsafe(ref wtRef, 8), vHigh, high1);
                    CopyTail(w.Slice(r2 * n, n), wTail);
                    low2 = madd.Invoke(Vector256.LoadUnsafe(ref wtRef), vLow, low2);
                    high2 = madd.Invoke(Vector256.LoadUnsafe(ref wtRef, 8), vHigh, high2);
                    CopyTail(w.Slice(r3 * n, n), wTail);
                    low3 = madd.Invoke(Vector256.LoadUnsafe(ref wtRef), vLow, low3);
                    high3 = madd.Invoke(Vector256.LoadUnsafe(ref wtRef, 8), vHigh, high3);
                }
                if (part == 1)
                {
                    rows.Store(FixedOrderSum.Trees(low0 + high0, low1 + high1, low2 + high2, low3 + high3), bias, y);
                }
                else if (count > 1)
                {
                    low0.StoreUnsafe(ref saved, 0); high0.StoreUnsafe(ref saved, 8);
                    low1.StoreUnsafe(ref saved, 16); high1.StoreUnsafe(ref saved, 24);
                    low2.StoreUnsafe(ref saved, 32); high2.StoreUnsafe(ref saved, 40);
                    low3.StoreUnsafe(ref saved, 48); high3.StoreUnsafe(ref saved, 56);
                }
            }
        }
    }

    /// <summary>Rows of a tile of <see cref="MultiplyPairVector512{TMultiplyAdd}"/>.</summary>
    internal const int TileRows512 = 8;

    /// <summary>
    /// The 512-bit path below <see cref="QuarterTilesMinBytes"/> (larger matrices take the 256-bit quarter tiles, and so
    /// do fewer than eight rows): one vector holds a row's 16 lanes, and a tile of eight adjacent rows shares each load
    /// of the vector and gives the CPU eight independent add chains. The last tile starts eight rows before the end,
    /// recomputing some rows of the one before to the same bits. With <paramref name="prefetch"/>
    /// (<see cref="KernelMode.PrefetchesWeights"/>) each block prefetches its share of the next tile (<see cref="Prefetch"/>).
    /// Eight rows, not four: with the weights in L2 (a 2×128 LSTM) its three products took 0.90× the time of four-row
    /// tiles, both without hints, and 1.04× from L3, both with them (docs/performance-history.md).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // see TailFloats
    internal static void MultiplyPairVector512<TMultiplyAdd>(bool prefetch, ReadOnlySpan<float> w1, ReadOnlySpan<float> x, ReadOnlySpan<float> w2, ReadOnlySpan<float> h, ReadOnlySpan<float> bias, Span<float> y)
        where TMultiplyAdd : struct, IMultiplyAdd
    {
        CheckShapes(w1, x, w2, h, bias, y);
        if (y.Length < TileRows512) throw new ArgumentException($"the 512-bit kernel computes at least {TileRows512} rows, not {y.Length}", nameof(y));
        TMultiplyAdd madd = default;
        Span<float> tails = stackalloc float[TailFloats];
        PadTails(x, h, tails);
        Span<float> xTail = tails.Slice(0, Lanes), hTail = tails.Slice(Lanes, Lanes);
        Span<float> w1Tail = tails.Slice(2 * Lanes, Lanes), w2Tail = tails.Slice(3 * Lanes, Lanes);
        for (int tile = 0; tile < (y.Length + TileRows512 - 1) / TileRows512; tile++)
        {
            int r0 = Math.Min(TileRows512 * tile, y.Length - TileRows512);
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            for (int part = 0; part < 2; part++)
            {
                ReadOnlySpan<float> w = part == 0 ? w1 : w2;
                ReadOnlySpan<float> v = part == 0 ? x : h;
                int n = v.Length;
                int whole = n - n % Lanes;
                nuint q1 = (nuint)n, q2 = 2 * (nuint)n, q3 = 3 * (nuint)n;
                ref float vRef = ref MemoryMarshal.GetReference(v);
                // Rows r0..r0+3 from one reference and r0+4..r0+7 from another, so each load is a single [row + offset + 4·j] address.
                ref float row = ref Unsafe.Add(ref MemoryMarshal.GetReference(w), (nuint)r0 * (nuint)n);
                ref float row4 = ref Unsafe.Add(ref row, 4 * (nuint)n);
                nuint nextTile = Prefetch.NextTile(ref row, TileRows512, n);
                for (nuint j = 0; j < (nuint)whole; j += Lanes)
                {
                    if (prefetch)
                    {
                        // this block's 8 rows × 64 bytes, of the next tile
                        Prefetch.Lines(nextTile + TileRows512 * sizeof(float) * j, 4);
                        Prefetch.Lines(nextTile + TileRows512 * sizeof(float) * j + 4 * Prefetch.LineBytes, 4);
                    }
                    Vector512<float> vj = Vector512.LoadUnsafe(ref vRef, j);
                    a0 = madd.Invoke(Vector512.LoadUnsafe(ref row, j), vj, a0);
                    a1 = madd.Invoke(Vector512.LoadUnsafe(ref row, j + q1), vj, a1);
                    a2 = madd.Invoke(Vector512.LoadUnsafe(ref row, j + q2), vj, a2);
                    a3 = madd.Invoke(Vector512.LoadUnsafe(ref row, j + q3), vj, a3);
                    a4 = madd.Invoke(Vector512.LoadUnsafe(ref row4, j), vj, a4);
                    a5 = madd.Invoke(Vector512.LoadUnsafe(ref row4, j + q1), vj, a5);
                    a6 = madd.Invoke(Vector512.LoadUnsafe(ref row4, j + q2), vj, a6);
                    a7 = madd.Invoke(Vector512.LoadUnsafe(ref row4, j + q3), vj, a7);
                }
                if (whole < n)
                {
                    Span<float> wTail = part == 0 ? w1Tail : w2Tail;
                    Vector512<float> vt = Vector512.LoadUnsafe(ref MemoryMarshal.GetReference(part == 0 ? xTail : hTail));
                    a0 = madd.Invoke(TailBlock512(w, r0, n, wTail), vt, a0);
                    a1 = madd.Invoke(TailBlock512(w, r0 + 1, n, wTail), vt, a1);
                    a2 = madd.Invoke(TailBlock512(w, r0 + 2, n, wTail), vt, a2);
                    a3 = madd.Invoke(TailBlock512(w, r0 + 3, n, wTail), vt, a3);
                    a4 = madd.Invoke(TailBlock512(w, r0 + 4, n, wTail), vt, a4);
                    a5 = madd.Invoke(TailBlock512(w, r0 + 5, n, wTail), vt, a5);
                    a6 = madd.Invoke(TailBlock512(w, r0 + 6, n, wTail), vt, a6);
                    a7 = madd.Invoke(TailBlock512(w, r0 + 7, n, wTail), vt, a7);
                }
            }
            (FixedOrderSum.Trees(a0, a1, a2, a3) + Vector128.Create(bias.Slice(r0, 4))).CopyTo(y.Slice(r0, 4));
            (FixedOrderSum.Trees(a4, a5, a6, a7) + Vector128.Create(bias.Slice(r0 + 4, 4))).CopyTo(y.Slice(r0 + 4, 4));
        }
    }

    /// <summary>Row <paramref name="row"/>'s zero-padded tail block (<see cref="CopyTail"/> into <paramref name="wTail"/>), as one vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> TailBlock512(ReadOnlySpan<float> w, int row, int n, Span<float> wTail)
    {
        CopyTail(w.Slice(row * n, n), wTail);
        return Vector512.LoadUnsafe(ref MemoryMarshal.GetReference(wTail));
    }
#endif
}
