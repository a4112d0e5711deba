using System.Numerics;
using System.Runtime.InteropServices;
using TextGen.Runtime.Format;
#if NET8_0_OR_GREATER
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
#endif

namespace TextGen.Runtime.Kernels;

/// <summary>
/// <see cref="MatrixVector"/> for f16 and q8 weights: <c>y = W1·x + W2·h + bias</c> with each weight decoded to float
/// in registers right after its load, so memory traffic is the stored bytes (half, or about a quarter, of f32's).
/// The summation order is <see cref="MatrixVector"/>'s: the decoded weight times the vector element goes to lane
/// <c>j mod 16</c>, x's from lane 0 then h's from lane 0, the lane tree, then the bias. Decoding is exact, so strict
/// mode is bit-identical across paths here too. The wide paths multiply x and h by the decoder's
/// <see cref="IWeightDecoder.VectorScale"/> once per call and the weights come out divided by it: both exact powers of
/// two, so every product is the same real number and rounds the same, and one operation per 8 weights is saved.
/// (q8 has its own integer kernel, <see cref="Q8MatrixVector"/>.)
/// </summary>
internal static class EncodedMatrixVector
{
    private const int Lanes = FixedOrderSum.Lanes;

#if NET8_0_OR_GREATER
    // Vectors up to the format's largest hidden or embedding size are scaled on the stack (32 KiB each).
    private const int MaxStackColumns = ModelArchitecture.MaxHiddenSize;

    // Below it, |v| · 2^112 stays finite: always true of hidden states (|h| ≤ 1) and of f16 embeddings (≤ 65504).
    private const float ScalableLimit = 65536f;
#endif

    /// <summary>The path <paramref name="mode"/> selects; <paramref name="d1"/> and <paramref name="d2"/> decode <paramref name="w1"/> and <paramref name="w2"/>.</summary>
    public static void MultiplyPair<TDecoder>(KernelMode mode, TDecoder d1, in WeightRows w1, ReadOnlySpan<float> x, TDecoder d2, in WeightRows w2, ReadOnlySpan<float> h, ReadOnlySpan<float> bias, Span<float> y)
        where TDecoder : struct, IWeightDecoder
    {
        switch (mode.Path)
        {
#if NET8_0_OR_GREATER
            case KernelPath.Vector512 or KernelPath.Vector256:
                MultiplyPairWide(mode, d1, w1, x, d2, w2, h, bias, y);
                break;
#endif
            case KernelPath.Vector:
                MultiplyPairVector<TDecoder>(d1, w1, x, d2, w2, h, bias, y);
                break;
            default:
                MultiplyPairScalar(w1, x, w2, h, bias, y);
                break;
        }
    }

    /// <summary>The reference: one product at a time, weights through <see cref="WeightRows"/>' indexer.</summary>
    internal static void MultiplyPairScalar(in WeightRows w1, ReadOnlySpan<float> x, in WeightRows w2, ReadOnlySpan<float> h, ReadOnlySpan<float> bias, Span<float> y)
    {
        Span<float> lanes = stackalloc float[Lanes];
        for (int r = 0; r < y.Length; r++)
        {
            lanes.Clear();
            for (int j = 0; j < x.Length; j++) lanes[j % Lanes] += w1[r, j] * x[j];
            for (int j = 0; j < h.Length; j++) lanes[j % Lanes] += w2[r, j] * h[j];
            y[r] = FixedOrderSum.Tree(lanes) + bias[r];
        }
    }

    /// <summary>
    /// The <see cref="Vector{T}"/> path (netstandard2.1 engines): each 16-weight block is decoded into a small
    /// buffer, then multiplied as <see cref="MatrixVector.MultiplyPairVector"/> does; Vector{T} has no portable
    /// narrow loads to widen from, and the buffer stays in L1, so the bytes read from memory are still the stored ones.
    /// </summary>
    internal static void MultiplyPairVector<TDecoder>(TDecoder d1, in WeightRows w1, ReadOnlySpan<float> x, TDecoder d2, in WeightRows w2, ReadOnlySpan<float> h, ReadOnlySpan<float> bias, Span<float> y)
        where TDecoder : struct, IWeightDecoder
    {
        int width = Vector<float>.Count;
        Span<float> wBlock = stackalloc float[Lanes];
        Span<float> vBlock = stackalloc float[Lanes];
        ReadOnlySpan<Vector<float>> wv = MemoryMarshal.Cast<float, Vector<float>>(wBlock);
        ReadOnlySpan<Vector<float>> vv = MemoryMarshal.Cast<float, Vector<float>>(vBlock);
        for (int r = 0; r < y.Length; r++)
        {
            Vector<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (int part = 0; part < 2; part++)
            {
                ReadOnlySpan<float> v = part == 0 ? x : h;
                TDecoder d = part == 0 ? d1 : d2;
                WeightRows w = part == 0 ? w1 : w2;
                nuint rowStart = RowStart(w, r);
                for (int j = 0; j < v.Length; j += Lanes)
                {
                    int count = Math.Min(Lanes, v.Length - j);
                    // A short last block is zero-padded: +0 products leave every lane unchanged.
                    wBlock.Clear();
                    vBlock.Clear();
                    for (int k = 0; k < count; k++) wBlock[k] = d.Get(rowStart + (nuint)(j + k));
                    v.Slice(j, count).CopyTo(vBlock);
                    a0 += wv[0] * vv[0];
                    if (width <= 8) a1 += wv[1] * vv[1];
                    if (width == 4)
                    {
                        a2 += wv[2] * vv[2];
                        a3 += wv[3] * vv[3];
                    }
                }
            }
            y[r] = FixedOrderSum.Tree(a0, a1, a2, a3) + bias[r];
        }
    }

    internal static nuint RowStart(in WeightRows w, int row) => (nuint)w.ElementStart(row);

    /// <summary>
    /// Whether the f16 matrices a product reads (W1 where x has columns, W2 where h has) keep their halves in block
    /// pairs (<see cref="WeightRows.PairedHalves"/>): true or false when they agree, null when one does and one does not,
    /// which only the scalar reference reads (a model pairs all its f16 matrices or none).
    /// </summary>
    internal static bool? PairedHalves(in WeightRows w1, int xLength, in WeightRows w2, int hLength)
    {
        bool? first = xLength > 0 ? w1.PairedHalves : null, second = hLength > 0 ? w2.PairedHalves : null;
        return first is null || second is null || first == second ? first ?? second ?? false : null;
    }

#if NET8_0_OR_GREATER
    /// <summary>
    /// The 512- and 256-bit paths: x and h are scaled once here, then the path <paramref name="mode"/> selects runs over
    /// the scaled copies. A vector beyond <see cref="ScalableLimit"/> (possible only in a hostile embedding) takes the
    /// scalar reference, which gives the same sums without the scaling.
    /// </summary>
    private static void MultiplyPairWide<TDecoder>(KernelMode mode, TDecoder d1, in WeightRows w1, ReadOnlySpan<float> x, TDecoder d2, in WeightRows w2, ReadOnlySpan<float> h, ReadOnlySpan<float> bias, Span<float> y)
        where TDecoder : struct, IWeightDecoder
    {
        Span<float> xScaled = x.Length <= MaxStackColumns ? stackalloc float[x.Length] : new float[x.Length];
        Span<float> hScaled = h.Length <= MaxStackColumns ? stackalloc float[h.Length] : new float[h.Length];
        if (!TryScale(x, d1.VectorScale, xScaled) | !TryScale(h, d2.VectorScale, hScaled))
        {
            MultiplyPairScalar(w1, x, w2, h, bias, y);
            return;
        }
        if (mode.Path != KernelPath.Vector512 && SplitsBlocks<TDecoder>())
        {
            SplitBlocks(xScaled);
            SplitBlocks(hScaled);
        }
        switch (mode.Path, mode.Strict)
        {
            case (KernelPath.Vector512, true):
                MultiplyPairVector512<TDecoder, RoundedMultiplyAdd>(d1, w1, x, xScaled, d2, w2, h, hScaled, bias, y);
                break;
            case (KernelPath.Vector512, false):
                MultiplyPairVector512<TDecoder, FusedMultiplyAdd>(d1, w1, x, xScaled, d2, w2, h, hScaled, bias, y);
                break;
            case (_, true):
                MultiplyPairVector256<TDecoder, RoundedMultiplyAdd>(d1, w1, x, xScaled, d2, w2, h, hScaled, bias, y);
                break;
            default:
                MultiplyPairVector256<TDecoder, FusedMultiplyAdd>(d1, w1, x, xScaled, d2, w2, h, hScaled, bias, y);
                break;
        }
    }

    /// <summary>
    /// Whether the 256-bit path decodes <typeparamref name="TDecoder"/>'s 16-weight blocks split, with one load each:
    /// f16 in file order, whose block is eight 32-bit words holding its even columns in their low halves and its odd
    /// ones in their high halves, so one shift and mask (two for the low halves) decode each eight, where lane order
    /// takes a widening load and shuffle per eight. The accumulators then hold a row's even lanes and its odd ones,
    /// against vectors split alike (<see cref="SplitBlocks"/>); each lane still adds its columns in order,
    /// and <see cref="Unsplit"/> adds the lane tree's first pairs, so the bits are lane order's. On a Zen 3 core a
    /// 2048 × (512 + 512) product (the shipped model's second layer) ran 1.07–1.15× as fast (best of nine rounds, four
    /// alternating pairs); a 512 × (128 + 128) one ran 9.6 µs against 9.0–9.4, but f16 matrices that small are widened
    /// to f32 at load (docs/performance-history.md, session 28). A JIT constant for each decoder.
    /// </summary>
    private static bool SplitsBlocks<TDecoder>() where TDecoder : struct, IWeightDecoder
        => typeof(TDecoder) == typeof(Float16Weights) && Avx2.IsSupported;

    /// <summary>
    /// Reorders each whole 16-element block of <paramref name="v"/> to its even elements, then its odd ones: the order
    /// of a block decoded split (<see cref="SplitsBlocks{TDecoder}"/>).
    /// </summary>
    internal static void SplitBlocks(Span<float> v)
    {
        ref float start = ref MemoryMarshal.GetReference(v);
        for (nuint at = 0; at + Lanes <= (nuint)v.Length; at += Lanes)
        {
            Vector256<float> low = Vector256.LoadUnsafe(ref start, at), high = Vector256.LoadUnsafe(ref start, at + 8);
            // Per 128-bit half, elements 0 and 2 of low then of high (or 1 and 3); then the 64-bit pairs put in order.
            Vector256<float> evens = Avx.Shuffle(low, high, 0b10_00_10_00), odds = Avx.Shuffle(low, high, 0b11_01_11_01);
            Avx2.Permute4x64(evens.AsDouble(), 0b11_01_10_00).AsSingle().StoreUnsafe(ref start, at);
            Avx2.Permute4x64(odds.AsDouble(), 0b11_01_10_00).AsSingle().StoreUnsafe(ref start, at + 8);
        }
    }

    /// <summary>Where column <paramref name="k"/> of a 16-column block goes when the block is split: evens to 0..7, odds to 8..15.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int SplitSlot(int k) => (k & 1) == 0 ? k >> 1 : 8 + (k >> 1);

    /// <summary>
    /// Weights <paramref name="index"/>.. +16 of the matrix: lanes 0..7 and 8..15, or split, its even and its odd columns
    /// from one load of the block's eight words (see <see cref="SplitsBlocks{TDecoder}"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<float> First, Vector256<float> Second) LoadBlock<TDecoder>(TDecoder d, bool split, nuint index)
        where TDecoder : struct, IWeightDecoder
    {
        if (!split) return (d.LoadHalfBlock(index), d.LoadHalfBlock(index + 8));
        Vector256<int> words = Vector256.LoadUnsafe(ref Unsafe.As<byte, int>(ref d.Element(index)));
        return (Float16.ToScaledSingleFromHigh(Vector256.ShiftLeft(words, 16)), Float16.ToScaledSingleFromHigh(words));
    }

    /// <summary>
    /// The lane tree's first level, lane l + lane l+8, of a row held split: <paramref name="even"/>'s halves add to
    /// lanes 0+8, 2+10, 4+12, 6+14 and <paramref name="odd"/>'s to 1+9, …, 7+15, interleaved back into lane order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Unsplit(Vector256<float> even, Vector256<float> odd)
    {
        Vector128<float> e = even.GetLower() + even.GetUpper(), o = odd.GetLower() + odd.GetUpper();
        return Vector256.Create(Sse.UnpackLow(e, o), Sse.UnpackHigh(e, o));
    }

    /// <summary><paramref name="v"/> times <paramref name="scale"/> into <paramref name="scaled"/>; false when an element is beyond <see cref="ScalableLimit"/> (or NaN).</summary>
    internal static bool TryScale(ReadOnlySpan<float> v, float scale, Span<float> scaled)
    {
        var inRange = new Vector<int>(-1);
        var limit = new Vector<float>(ScalableLimit);
        int j = 0;
        for (; j <= v.Length - Vector<float>.Count; j += Vector<float>.Count)
        {
            var e = new Vector<float>(v.Slice(j));
            inRange &= Vector.LessThan(Vector.Abs(e), limit);
            (e * scale).CopyTo(scaled.Slice(j));
        }
        bool ok = Vector.EqualsAll(inRange, new Vector<int>(-1));
        for (; j < v.Length; j++)
        {
            ok &= Math.Abs(v[j]) < ScalableLimit;
            scaled[j] = v[j] * scale;
        }
        return ok;
    }

    /// <summary>
    /// The 256-bit path: <see cref="MatrixVector.MultiplyPairVector256"/>'s four-row blocks and prefetches, each load
    /// decoded, over the scaled vectors; in split order where <see cref="SplitsBlocks{TDecoder}"/> says (lowR and highR
    /// then hold row R's even and odd lanes).
    /// </summary>
    private static void MultiplyPairVector256<TDecoder, TMultiplyAdd>(TDecoder d1, in WeightRows w1, ReadOnlySpan<float> x, ReadOnlySpan<float> xScaled,
        TDecoder d2, in WeightRows w2, ReadOnlySpan<float> h, ReadOnlySpan<float> hScaled, ReadOnlySpan<float> bias, Span<float> y)
        where TDecoder : struct, IWeightDecoder
        where TMultiplyAdd : struct, IMultiplyAdd
    {
        TMultiplyAdd madd = default;
        bool split = SplitsBlocks<TDecoder>();
        Span<float> vTail = stackalloc float[Lanes];
        Span<float> wTail = stackalloc float[Lanes];
        for (int tile = 0; tile < TileRows.Count(y.Length); tile++)
        {
            TileRows rows = TileRows.Adjacent(tile, y.Length);
            int r0 = rows.R0, r1 = rows.R1, r2 = rows.R2, r3 = rows.R3;
            Vector256<float> low0 = default, high0 = default, low1 = default, high1 = default;
            Vector256<float> low2 = default, high2 = default, low3 = default, high3 = default;
            for (int part = 0; part < 2; part++)
            {
                TDecoder d = part == 0 ? d1 : d2;
                WeightRows w = part == 0 ? w1 : w2;
                ReadOnlySpan<float> v = part == 0 ? x : h;
                int n = v.Length;
                if (n == 0) continue; // W1 left out: no weights to address
                int whole = n - n % Lanes;
                ref float vRef = ref MemoryMarshal.GetReference(part == 0 ? xScaled : hScaled);
                nuint row0 = RowStart(w, r0), row1 = RowStart(w, r1), row2 = RowStart(w, r2), row3 = RowStart(w, r3);
                nuint nextTile = d.Address(row0 + 4 * (nuint)n);
                // Each row's index steps through the loop: one register per row, and each load is one address.
                for (nuint j = 0; j < (nuint)whole; j += Lanes, row0 += Lanes, row1 += Lanes, row2 += Lanes, row3 += Lanes)
                {
                    Prefetch.Lines(nextTile + 4 * (nuint)d.StoredBytes * j, d.StoredBytes * Lanes * 4 / Prefetch.LineBytes); // this block's share of the next tile
                    Vector256<float> vLow = Vector256.LoadUnsafe(ref vRef, j);
                    Vector256<float> vHigh = Vector256.LoadUnsafe(ref vRef, j + 8);
                    (Vector256<float> w0Low, Vector256<float> w0High) = LoadBlock(d, split, row0);
                    low0 = madd.Invoke(w0Low, vLow, low0);
                    high0 = madd.Invoke(w0High, vHigh, high0);
                    (Vector256<float> w1Low, Vector256<float> w1High) = LoadBlock(d, split, row1);
                    low1 = madd.Invoke(w1Low, vLow, low1);
                    high1 = madd.Invoke(w1High, vHigh, high1);
                    (Vector256<float> w2Low, Vector256<float> w2High) = LoadBlock(d, split, row2);
                    low2 = madd.Invoke(w2Low, vLow, low2);
                    high2 = madd.Invoke(w2High, vHigh, high2);
                    (Vector256<float> w3Low, Vector256<float> w3High) = LoadBlock(d, split, row3);
                    low3 = madd.Invoke(w3Low, vLow, low3);
                    high3 = madd.Invoke(w3High, vHigh, high3);
                }
                if (whole < n)
                {
                    // The short last block, zero-padded as in MatrixVector (and split as the others where they are): +0 products leave the lanes unchanged. Its
                    // weights are decoded whole, so it multiplies the unscaled vector. The row indices stand at it now.
                    // Plain loops: a call (Clear, CopyTo) inside the row loop would make the JIT keep the accumulators in memory.
                    for (int k = 0; k < Lanes; k++)
                    {
                        vTail[split ? SplitSlot(k) : k] = whole + k < n ? v[whole + k] : 0f;
                        wTail[k] = 0f;
                    }
                    ref float tRef = ref MemoryMarshal.GetReference(vTail);
                    ref float wtRef = ref MemoryMarshal.GetReference(wTail);
                    Vector256<float> vLow = Vector256.LoadUnsafe(ref tRef), vHigh = Vector256.LoadUnsafe(ref tRef, 8);
                    for (int k = 0; k < n - whole; k++) wTail[split ? SplitSlot(k) : k] = d.Get(row0 + (nuint)k);
                    low0 = madd.Invoke(Vector256.LoadUnsafe(ref wtRef), vLow, low0);
                    high0 = madd.Invoke(Vector256.LoadUnsafe(ref wtRef, 8), vHigh, high0);
                    for (int k = 0; k < n - whole; k++) wTail[split ? SplitSlot(k) : k] = d.Get(row1 + (nuint)k);
                    low1 = madd.Invoke(Vector256.LoadUnsafe(ref wtRef), vLow, low1);
                    high1 = madd.Invoke(Vector256.LoadUnsafe(ref wtRef, 8), vHigh, high1);
                    for (int k = 0; k < n - whole; k++) wTail[split ? SplitSlot(k) : k] = d.Get(row2 + (nuint)k);
                    low2 = madd.Invoke(Vector256.LoadUnsafe(ref wtRef), vLow, low2);
                    high2 = madd.Invoke(Vector256.LoadUnsafe(ref wtRef, 8), vHigh, high2);
                    for (int k = 0; k < n - whole; k++) wTail[split ? SplitSlot(k) : k] = d.Get(row3 + (nuint)k);
                    low3 = madd.Invoke(Vector256.LoadUnsafe(ref wtRef), vLow, low3);
                    high3 = madd.Invoke(Vector256.LoadUnsafe(ref wtRef, 8), vHigh, high3);
                }
            }
            rows.Store(split
                ? FixedOrderSum.Trees(Unsplit(low0, high0), Unsplit(low1, high1), Unsplit(low2, high2), Unsplit(low3, high3))
                : FixedOrderSum.Trees(low0 + high0, low1 + high1, low2 + high2, low3 + high3), bias, y);
        }
    }

    /// <summary>The 512-bit path: the 256-bit path's tiles of four adjacent rows and prefetches in 512-bit vectors, each load decoded, over the scaled vectors.</summary>
    private static void MultiplyPairVector512<TDecoder, TMultiplyAdd>(TDecoder d1, in WeightRows w1, ReadOnlySpan<float> x, ReadOnlySpan<float> xScaled,
        TDecoder d2, in WeightRows w2, ReadOnlySpan<float> h, ReadOnlySpan<float> hScaled, ReadOnlySpan<float> bias, Span<float> y)
        where TDecoder : struct, IWeightDecoder
        where TMultiplyAdd : struct, IMultiplyAdd
    {
        TMultiplyAdd madd = default;
        Span<float> vTail = stackalloc float[Lanes];
        Span<float> wTail = stackalloc float[Lanes];
        for (int tile = 0; tile < TileRows.Count(y.Length); tile++)
        {
            TileRows rows = TileRows.Adjacent(tile, y.Length);
            int r0 = rows.R0, r1 = rows.R1, r2 = rows.R2, r3 = rows.R3;
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (int part = 0; part < 2; part++)
            {
                TDecoder d = part == 0 ? d1 : d2;
                WeightRows w = part == 0 ? w1 : w2;
                ReadOnlySpan<float> v = part == 0 ? x : h;
                int n = v.Length;
                if (n == 0) continue; // W1 left out: no weights to address
                int whole = n - n % Lanes;
                ref float vRef = ref MemoryMarshal.GetReference(part == 0 ? xScaled : hScaled);
                nuint row0 = RowStart(w, r0), row1 = RowStart(w, r1), row2 = RowStart(w, r2), row3 = RowStart(w, r3);
                nuint nextTile = d.Address(row0 + 4 * (nuint)n);
                // Paired rows are whole pairs of blocks (whole == n): each load gives two blocks, added first then second as below.
                for (nuint j = 0; d.PairsBlocks && j < (nuint)whole; j += 2 * Lanes, row0 += 2 * Lanes, row1 += 2 * Lanes, row2 += 2 * Lanes, row3 += 2 * Lanes)
                {
                    Prefetch.Lines(nextTile + 4 * (nuint)d.StoredBytes * j, 2 * d.StoredBytes * Lanes * 4 / Prefetch.LineBytes); // this pair's share of the next tile
                    Vector512<float> vFirst = Vector512.LoadUnsafe(ref vRef, j), vSecond = Vector512.LoadUnsafe(ref vRef, j + Lanes);
                    a0 = madd.Invoke(d.LoadOfPair(row0, 0), vFirst, a0);
                    a1 = madd.Invoke(d.LoadOfPair(row1, 0), vFirst, a1);
                    a2 = madd.Invoke(d.LoadOfPair(row2, 0), vFirst, a2);
                    a3 = madd.Invoke(d.LoadOfPair(row3, 0), vFirst, a3);
                    a0 = madd.Invoke(d.LoadOfPair(row0, 1), vSecond, a0);
                    a1 = madd.Invoke(d.LoadOfPair(row1, 1), vSecond, a1);
                    a2 = madd.Invoke(d.LoadOfPair(row2, 1), vSecond, a2);
                    a3 = madd.Invoke(d.LoadOfPair(row3, 1), vSecond, a3);
                }
                for (nuint j = 0; !d.PairsBlocks && j < (nuint)whole; j += Lanes, row0 += Lanes, row1 += Lanes, row2 += Lanes, row3 += Lanes)
                {
                    Prefetch.Lines(nextTile + 4 * (nuint)d.StoredBytes * j, d.StoredBytes * Lanes * 4 / Prefetch.LineBytes); // this block's share of the next tile
                    Vector512<float> vj = Vector512.LoadUnsafe(ref vRef, j);
                    a0 = madd.Invoke(d.Load(row0), vj, a0);
                    a1 = madd.Invoke(d.Load(row1), vj, a1);
                    a2 = madd.Invoke(d.Load(row2), vj, a2);
                    a3 = madd.Invoke(d.Load(row3), vj, a3);
                }
                if (whole < n)
                {
                    // Plain loops: a call (Clear, CopyTo) inside the row loop would make the JIT keep the accumulators in memory.
                    // The row indices stand at the short last block now.
                    for (int k = 0; k < Lanes; k++)
                    {
                        vTail[k] = whole + k < n ? v[whole + k] : 0f;
                        wTail[k] = 0f;
                    }
                    ref float wtRef = ref MemoryMarshal.GetReference(wTail);
                    Vector512<float> vt = Vector512.LoadUnsafe(ref MemoryMarshal.GetReference(vTail));
                    for (int k = 0; k < n - whole; k++) wTail[k] = d.Get(row0 + (nuint)k);
                    a0 = madd.Invoke(Vector512.LoadUnsafe(ref wtRef), vt, a0);
                    for (int k = 0; k < n - whole; k++) wTail[k] = d.Get(row1 + (nuint)k);
                    a1 = madd.Invoke(Vector512.LoadUnsafe(ref wtRef), vt, a1);
                    for (int k = 0; k < n - whole; k++) wTail[k] = d.Get(row2 + (nuint)k);
                    a2 = madd.Invoke(Vector512.LoadUnsafe(ref wtRef), vt, a2);
                    for (int k = 0; k < n - whole; k++) wTail[k] = d.Get(row3 + (nuint)k);
                    a3 = madd.Invoke(Vector512.LoadUnsafe(ref wtRef), vt, a3);
                }
            }
            rows.Store(FixedOrderSum.Trees(a0, a1, a2, a3), bias, y);
        }
    }
#endif
}
