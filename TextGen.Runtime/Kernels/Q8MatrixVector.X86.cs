#if NET8_0_OR_GREATER
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TextGen.Runtime.Kernels;

/// <summary>
/// The x64 kernels of <see cref="Q8MatrixVector"/>: AVX2 (<see cref="MultiplyPairAvx2{TMultiplyAdd, TBlockSums}"/>)
/// over weights in file order and AVX-512 (<see cref="MultiplyPairAvx512{TAcc, TAccumulator, TPairSums}"/>) over
/// weights pair-interleaved, and the AVX form of the vector's quantization. In strict mode both kernels follow the
/// class's order to the bit.
/// </summary>
internal static partial class Q8MatrixVector
{
    /// <summary>Bytes of two whole blocks: one 512-bit load.</summary>
    private const int PairBytes = 2 * BlockSize;

    /// <summary>True when the signs can move onto the weights (<see cref="SignOnWeights"/>): no matrix in use holds −128.</summary>
    private static bool Symmetric(in WeightRows w1, ReadOnlySpan<float> x, in WeightRows w2, ReadOnlySpan<float> h)
        => (x.IsEmpty || w1.SymmetricQuants) && (h.IsEmpty || w2.SymmetricQuants);

    private static void MultiplyPairVector256(bool strict, bool symmetric, in WeightRows w1, in QuantizedVector x, in WeightRows w2, in QuantizedVector h, ReadOnlySpan<float> bias, Span<float> y)
    {
        if (strict && symmetric) MultiplyPairAvx2<RoundedMultiplyAdd, SignOnWeights>(w1, x, w2, h, bias, y);
        else if (strict) MultiplyPairAvx2<RoundedMultiplyAdd, SignOnVector>(w1, x, w2, h, bias, y);
        else if (symmetric) MultiplyPairAvx2<FusedMultiplyAdd, SignOnWeights>(w1, x, w2, h, bias, y);
        else MultiplyPairAvx2<FusedMultiplyAdd, SignOnVector>(w1, x, w2, h, bias, y);
    }

    /// <summary>
    /// The 512-bit kernel with AVX-512BW's multiply-add-adjacent where the CPU has it. Where it has not (a test forcing
    /// this path on an AVX2 machine), <see cref="WidenedPairSums"/> forms the same integers from portable operations,
    /// so the kernel's loop, offsets, odd and short blocks and order are tested on any machine.
    /// </summary>
    private static void MultiplyPairVector512(bool strict, bool symmetric, in WeightRows w1, in QuantizedVector x, in WeightRows w2, in QuantizedVector h, ReadOnlySpan<float> bias, Span<float> y)
    {
        if (!Avx512BW.IsSupported)
        {
            if (strict) MultiplyPairAvx512<Vector256<float>, RoundedPairs, WidenedPairSums>(w1, x, w2, h, bias, y);
            else MultiplyPairAvx512<Vector512<float>, FusedPairs, WidenedPairSums>(w1, x, w2, h, bias, y);
        }
        else if (strict && symmetric) MultiplyPairAvx512<Vector256<float>, RoundedPairs, SignOnWeightsPairs>(w1, x, w2, h, bias, y);
        else if (strict) MultiplyPairAvx512<Vector256<float>, RoundedPairs, SignOnVectorPairs>(w1, x, w2, h, bias, y);
        else if (symmetric) MultiplyPairAvx512<Vector512<float>, FusedPairs, SignOnWeightsPairs>(w1, x, w2, h, bias, y);
        else MultiplyPairAvx512<Vector512<float>, FusedPairs, SignOnVectorPairs>(w1, x, w2, h, bias, y);
    }

    /// <summary>
    /// The scalar rounding in vector form: the max over 32 values, one division, then 32 multiplies rounded to even
    /// (vroundps; the scalar path's <see cref="MathF.Round(float)"/>) and narrowed to bytes.
    /// </summary>
    private static float QuantizeBlockAvx(ReadOnlySpan<float> block, Span<sbyte> quants)
    {
        ref float first = ref MemoryMarshal.GetReference(block);
        Vector256<float> v0 = Vector256.LoadUnsafe(ref first), v1 = Vector256.LoadUnsafe(ref first, 8);
        Vector256<float> v2 = Vector256.LoadUnsafe(ref first, 16), v3 = Vector256.LoadUnsafe(ref first, 24);
        float largest = Largest(Vector256.Max(Vector256.Max(Vector256.Abs(v0), Vector256.Abs(v1)), Vector256.Max(Vector256.Abs(v2), Vector256.Abs(v3))));
        float inverse = Q8Max / largest;
        if (float.IsInfinity(inverse))
        {
            quants.Clear();
            return 0f;
        }
        Vector256<float> scale = Vector256.Create(inverse);
        Vector256<int> i0 = Vector256.ConvertToInt32(Avx.RoundToNearestInteger(v0 * scale)), i1 = Vector256.ConvertToInt32(Avx.RoundToNearestInteger(v1 * scale));
        Vector256<int> i2 = Vector256.ConvertToInt32(Avx.RoundToNearestInteger(v2 * scale)), i3 = Vector256.ConvertToInt32(Avx.RoundToNearestInteger(v3 * scale));
        Vector256.Narrow(Vector256.Narrow(i0, i1), Vector256.Narrow(i2, i3)).StoreUnsafe(ref MemoryMarshal.GetReference(quants));
        return largest / Q8Max;
    }

    /// <summary>
    /// <see cref="QuantizeBlockAvx"/> in two 512-bit halves, each half's 16 rounded values narrowed to bytes by one
    /// vpmovdb. The same operations on the same values, so the same bits; at hidden 128, where a q8 step quantizes 16
    /// blocks, the 256-bit form's two narrowing steps and its max ended in scalar code took about 5% of it.
    /// </summary>
    private static float QuantizeBlockAvx512(ReadOnlySpan<float> block, Span<sbyte> quants)
    {
        ref float first = ref MemoryMarshal.GetReference(block);
        Vector512<float> v0 = Vector512.LoadUnsafe(ref first), v1 = Vector512.LoadUnsafe(ref first, 16);
        Vector512<float> largest16 = Vector512.Max(Vector512.Abs(v0), Vector512.Abs(v1));
        float largest = Largest(Vector256.Max(largest16.GetLower(), largest16.GetUpper()));
        float inverse = Q8Max / largest;
        if (float.IsInfinity(inverse))
        {
            quants.Clear();
            return 0f;
        }
        Vector512<float> scale = Vector512.Create(inverse);
        ref sbyte target = ref MemoryMarshal.GetReference(quants);
        Avx512F.ConvertToVector128SByte(Vector512.ConvertToInt32(Avx512F.RoundScale(v0 * scale, 0))).StoreUnsafe(ref target);
        Avx512F.ConvertToVector128SByte(Vector512.ConvertToInt32(Avx512F.RoundScale(v1 * scale, 0))).StoreUnsafe(ref target, 16);
        return largest / Q8Max;
    }

    /// <summary>The largest of 8 non-negative values, in vector steps to the end (a max in any order is the same value).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Largest(Vector256<float> values)
    {
        Vector128<float> four = Vector128.Max(values.GetLower(), values.GetUpper());
        Vector128<float> two = Vector128.Max(four, Vector128.Shuffle(four, Vector128.Create(2, 3, 0, 1)));
        return Vector128.Max(two, Vector128.Shuffle(two, Vector128.Create(1, 0, 3, 2))).ToScalar();
    }

    /// <summary>
    /// AVX2: tiles of eight neighbouring rows share each 32-byte load of the quantized vector and prefetch the next
    /// tile (<see cref="Prefetch"/>); per row and block, vpmaddubsw of a non-negative factor and a signed one
    /// (<typeparamref name="TBlockSums"/>), vpmaddwd against ones for the 8 lane sums, then one convert and one
    /// multiply-add by the block's scale product. Eight rows, not four: at hidden 128 a row has only 6 to 8 blocks,
    /// and a tile's fixed work (its setup, the loop's exit, the reduction of the lane sums) weighed as much as a third
    /// of its blocks' (docs/performance-history.md). Rows 4..7 run from their own reference at the offsets rows 1..3
    /// use from row 0: 6 moving references and 6 offsets, few enough to stay in registers. A last tile that would run
    /// past the matrix starts 8 rows before its end instead, computing a few rows again to the same bits; a matrix of
    /// fewer than 8 rows takes the scalar order. The short last block of a row sums its lanes one product at a time,
    /// after the loop, so no load runs past the matrix and no call inside the loop makes the JIT keep the
    /// accumulators in memory.
    /// </summary>
    private static void MultiplyPairAvx2<TMultiplyAdd, TBlockSums>(in WeightRows w1, in QuantizedVector x, in WeightRows w2, in QuantizedVector h, ReadOnlySpan<float> bias, Span<float> y)
        where TMultiplyAdd : struct, IMultiplyAdd
        where TBlockSums : struct, IBlockSums
    {
        if (y.Length < 8)
        {
            MultiplyPairScalar(w1, x, w2, h, bias, y);
            return;
        }
        TMultiplyAdd madd = default;
        TBlockSums sums = default;
        Span<int> tailSums = stackalloc int[4 * Lanes];
        ref int tailRef = ref MemoryMarshal.GetReference(tailSums);
        TilePart xPart = new(w1, x), hPart = new(w2, h);
        ref float biasRef = ref MemoryMarshal.GetReference(bias.Slice(0, y.Length));
        ref float yRef = ref MemoryMarshal.GetReference(y);
        for (int tile = 0; tile < (y.Length + 7) / 8; tile++)
        {
            int r0 = Math.Min(8 * tile, y.Length - 8);
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            for (int part = 0; part < 2; part++)
            {
                scoped ref TilePart p = ref part == 0 ? ref xPart : ref hPart;
                int columnCount = p.Columns, whole = p.Whole;
                if (columnCount == 0) continue;
                nint columns = columnCount, blocks = p.Blocks;
                nint q1 = columns, q2 = 2 * columns, q3 = 3 * columns;
                nint s1 = blocks, s2 = 2 * blocks, s3 = 3 * blocks;
                ref sbyte row = ref Unsafe.Add(ref p.Rows, r0 * columns);
                ref sbyte row4 = ref Unsafe.Add(ref row, 4 * columns);
                ref float scale = ref Unsafe.Add(ref p.RowScales, r0 * blocks);
                ref float scale4 = ref Unsafe.Add(ref scale, 4 * blocks);
                ref sbyte vq = ref p.Quants;
                ref float vs = ref p.Scales;
                nuint nextTile = Prefetch.NextTile(ref row, 8, columnCount);
                for (int remaining = whole; remaining > 0; remaining--)
                {
                    Prefetch.Lines(nextTile, 4); // this block's 8 rows × 32 bytes, of the next tile
                    nextTile += 8 * BlockSize;
                    Vector256<sbyte> vb = Vector256.LoadUnsafe(ref vq);
                    Vector256<sbyte> shared = sums.Shared(vb);
                    Vector256<float> vScale = Vector256.Create(vs);
                    a0 = madd.Invoke(sums.Sums(Vector256.LoadUnsafe(ref row), vb, shared), Vector256.Create(scale) * vScale, a0);
                    a1 = madd.Invoke(sums.Sums(Vector256.LoadUnsafe(ref Unsafe.Add(ref row, q1)), vb, shared), Vector256.Create(Unsafe.Add(ref scale, s1)) * vScale, a1);
                    a2 = madd.Invoke(sums.Sums(Vector256.LoadUnsafe(ref Unsafe.Add(ref row, q2)), vb, shared), Vector256.Create(Unsafe.Add(ref scale, s2)) * vScale, a2);
                    a3 = madd.Invoke(sums.Sums(Vector256.LoadUnsafe(ref Unsafe.Add(ref row, q3)), vb, shared), Vector256.Create(Unsafe.Add(ref scale, s3)) * vScale, a3);
                    a4 = madd.Invoke(sums.Sums(Vector256.LoadUnsafe(ref row4), vb, shared), Vector256.Create(scale4) * vScale, a4);
                    a5 = madd.Invoke(sums.Sums(Vector256.LoadUnsafe(ref Unsafe.Add(ref row4, q1)), vb, shared), Vector256.Create(Unsafe.Add(ref scale4, s1)) * vScale, a5);
                    a6 = madd.Invoke(sums.Sums(Vector256.LoadUnsafe(ref Unsafe.Add(ref row4, q2)), vb, shared), Vector256.Create(Unsafe.Add(ref scale4, s2)) * vScale, a6);
                    a7 = madd.Invoke(sums.Sums(Vector256.LoadUnsafe(ref Unsafe.Add(ref row4, q3)), vb, shared), Vector256.Create(Unsafe.Add(ref scale4, s3)) * vScale, a7);
                    row = ref Unsafe.Add(ref row, BlockSize);
                    row4 = ref Unsafe.Add(ref row4, BlockSize);
                    scale = ref Unsafe.Add(ref scale, 1);
                    scale4 = ref Unsafe.Add(ref scale4, 1);
                    vq = ref Unsafe.Add(ref vq, BlockSize);
                    vs = ref Unsafe.Add(ref vs, 1);
                }
                if (whole < blocks)
                {
                    // The references now stand at the short last block; rows 0..3, then rows 4..7.
                    Vector256<float> vScale = Vector256.Create(vs);
                    ShortBlockSums(ref row, columnCount, whole, ref vq, tailSums);
                    a0 = madd.Invoke(Vector256.ConvertToSingle(Vector256.LoadUnsafe(ref tailRef)), Vector256.Create(scale) * vScale, a0);
                    a1 = madd.Invoke(Vector256.ConvertToSingle(Vector256.LoadUnsafe(ref tailRef, Lanes)), Vector256.Create(Unsafe.Add(ref scale, blocks)) * vScale, a1);
                    a2 = madd.Invoke(Vector256.ConvertToSingle(Vector256.LoadUnsafe(ref tailRef, 2 * Lanes)), Vector256.Create(Unsafe.Add(ref scale, 2 * blocks)) * vScale, a2);
                    a3 = madd.Invoke(Vector256.ConvertToSingle(Vector256.LoadUnsafe(ref tailRef, 3 * Lanes)), Vector256.Create(Unsafe.Add(ref scale, 3 * blocks)) * vScale, a3);
                    ShortBlockSums(ref row4, columnCount, whole, ref vq, tailSums);
                    a4 = madd.Invoke(Vector256.ConvertToSingle(Vector256.LoadUnsafe(ref tailRef)), Vector256.Create(scale4) * vScale, a4);
                    a5 = madd.Invoke(Vector256.ConvertToSingle(Vector256.LoadUnsafe(ref tailRef, Lanes)), Vector256.Create(Unsafe.Add(ref scale4, blocks)) * vScale, a5);
                    a6 = madd.Invoke(Vector256.ConvertToSingle(Vector256.LoadUnsafe(ref tailRef, 2 * Lanes)), Vector256.Create(Unsafe.Add(ref scale4, 2 * blocks)) * vScale, a6);
                    a7 = madd.Invoke(Vector256.ConvertToSingle(Vector256.LoadUnsafe(ref tailRef, 3 * Lanes)), Vector256.Create(Unsafe.Add(ref scale4, 3 * blocks)) * vScale, a7);
                }
            }
            (FixedOrderSum.Trees(a0, a1, a2, a3) + Vector128.LoadUnsafe(ref biasRef, (nuint)r0)).StoreUnsafe(ref yRef, (nuint)r0);
            (FixedOrderSum.Trees(a4, a5, a6, a7) + Vector128.LoadUnsafe(ref biasRef, (nuint)r0 + 4)).StoreUnsafe(ref yRef, (nuint)r0 + 4);
        }
    }

    /// <summary>
    /// AVX-512: <see cref="MultiplyPairAvx2{TMultiplyAdd, TBlockSums}"/>'s tiles of eight rows over weights kept
    /// pair-interleaved (<see cref="InterleavePairs"/>), so that one 64-byte load of each row, one multiply-add-adjacent
    /// pair (<typeparamref name="TPairSums"/>) and one convert serve two blocks, and the 16 lane sums alternate between
    /// them: lane 2k is the first block's lane k, 2k+1 the second's. The vector's two blocks are put in that order once
    /// for the tile (one vpermd), and one 64-bit broadcast of each row's two scales multiplies the broadcast of the
    /// vector's two. <typeparamref name="TAccumulator"/> adds the scaled sums: fast mode in 16 lanes with one fused
    /// multiply-add per row and pair; strict mode separates the blocks again (one vpermps) to add them in the class's
    /// order, to the bit. An odd last whole block (file order) is loaded as a pair whose second block is zero, with no
    /// read past it, and adds to the first 8 lanes, as does the short last block, which sums as in the 256-bit kernel.
    /// Fewer than eight rows take the scalar reference. At hidden 128, keeping the blocks in file order and adding them
    /// to 8 lanes one by one cost nine vector operations per row and pair against six in fast mode: a q8 step of a
    /// 2×128 LSTM took 9.0–13.1 µs against 7.6–11.7 in the same rounds (docs/performance-history.md).
    /// </summary>
    private static void MultiplyPairAvx512<TAcc, TAccumulator, TPairSums>(in WeightRows w1, in QuantizedVector x, in WeightRows w2, in QuantizedVector h, ReadOnlySpan<float> bias, Span<float> y)
        where TAcc : struct
        where TAccumulator : struct, IPairAccumulator<TAcc>
        where TPairSums : struct, IBlockPairSums
    {
        if (y.Length < 8)
        {
            MultiplyPairScalar(w1, x, w2, h, bias, y);
            return;
        }
        TAccumulator add = default;
        TPairSums sums = default;
        Span<int> tailSums = stackalloc int[4 * Lanes];
        ref int tailRef = ref MemoryMarshal.GetReference(tailSums);
        TilePart xPart = new(w1, x), hPart = new(w2, h);
        ref float biasRef = ref MemoryMarshal.GetReference(bias.Slice(0, y.Length));
        ref float yRef = ref MemoryMarshal.GetReference(y);
        for (int tile = 0; tile < (y.Length + 7) / 8; tile++)
        {
            int r0 = Math.Min(8 * tile, y.Length - 8);
            TAcc a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            for (int part = 0; part < 2; part++)
            {
                scoped ref TilePart p = ref part == 0 ? ref xPart : ref hPart;
                int columnCount = p.Columns, whole = p.Whole;
                if (columnCount == 0) continue;
                nint columns = columnCount, blocks = p.Blocks;
                nint q1 = columns, q2 = 2 * columns, q3 = 3 * columns;
                nint s1 = blocks, s2 = 2 * blocks, s3 = 3 * blocks;
                ref sbyte row = ref Unsafe.Add(ref p.Rows, r0 * columns);
                ref sbyte row4 = ref Unsafe.Add(ref row, 4 * columns);
                ref float scale = ref Unsafe.Add(ref p.RowScales, r0 * blocks);
                ref float scale4 = ref Unsafe.Add(ref scale, 4 * blocks);
                ref sbyte vq = ref p.Quants;
                ref float vs = ref p.Scales;
                nuint nextTile = Prefetch.NextTile(ref row, 8, columnCount);
                for (int remaining = whole / 2; remaining > 0; remaining--)
                {
                    Prefetch.Lines(nextTile, 4); // this pair's 8 rows × 64 bytes, of the next tile
                    Prefetch.Lines(nextTile + 4 * Prefetch.LineBytes, 4);
                    nextTile += 8 * PairBytes;
                    Vector512<sbyte> vb = InPairOrder(Vector512.LoadUnsafe(ref vq));
                    Vector512<sbyte> shared = sums.Shared(vb);
                    Vector512<float> vScales = ScalePair(ref vs);
                    a0 = add.AddPair(a0, sums.Sums(Vector512.LoadUnsafe(ref row), vb, shared), ScalePair(ref scale) * vScales);
                    a1 = add.AddPair(a1, sums.Sums(Vector512.LoadUnsafe(ref Unsafe.Add(ref row, q1)), vb, shared), ScalePair(ref Unsafe.Add(ref scale, s1)) * vScales);
                    a2 = add.AddPair(a2, sums.Sums(Vector512.LoadUnsafe(ref Unsafe.Add(ref row, q2)), vb, shared), ScalePair(ref Unsafe.Add(ref scale, s2)) * vScales);
                    a3 = add.AddPair(a3, sums.Sums(Vector512.LoadUnsafe(ref Unsafe.Add(ref row, q3)), vb, shared), ScalePair(ref Unsafe.Add(ref scale, s3)) * vScales);
                    a4 = add.AddPair(a4, sums.Sums(Vector512.LoadUnsafe(ref row4), vb, shared), ScalePair(ref scale4) * vScales);
                    a5 = add.AddPair(a5, sums.Sums(Vector512.LoadUnsafe(ref Unsafe.Add(ref row4, q1)), vb, shared), ScalePair(ref Unsafe.Add(ref scale4, s1)) * vScales);
                    a6 = add.AddPair(a6, sums.Sums(Vector512.LoadUnsafe(ref Unsafe.Add(ref row4, q2)), vb, shared), ScalePair(ref Unsafe.Add(ref scale4, s2)) * vScales);
                    a7 = add.AddPair(a7, sums.Sums(Vector512.LoadUnsafe(ref Unsafe.Add(ref row4, q3)), vb, shared), ScalePair(ref Unsafe.Add(ref scale4, s3)) * vScales);
                    row = ref Unsafe.Add(ref row, PairBytes);
                    row4 = ref Unsafe.Add(ref row4, PairBytes);
                    scale = ref Unsafe.Add(ref scale, 2);
                    scale4 = ref Unsafe.Add(ref scale4, 2);
                    vq = ref Unsafe.Add(ref vq, PairBytes);
                    vs = ref Unsafe.Add(ref vs, 2);
                }
                if (whole % 2 == 1)
                {
                    Vector512<sbyte> vb = Vector256.LoadUnsafe(ref vq).ToVector512();
                    Vector512<sbyte> shared = sums.Shared(vb);
                    Vector256<float> vScale = Vector256.Create(vs);
                    a0 = add.AddBlock(a0, sums.Sums(Vector256.LoadUnsafe(ref row).ToVector512(), vb, shared).GetLower(), Vector256.Create(scale) * vScale);
                    a1 = add.AddBlock(a1, sums.Sums(Vector256.LoadUnsafe(ref Unsafe.Add(ref row, q1)).ToVector512(), vb, shared).GetLower(), Vector256.Create(Unsafe.Add(ref scale, s1)) * vScale);
                    a2 = add.AddBlock(a2, sums.Sums(Vector256.LoadUnsafe(ref Unsafe.Add(ref row, q2)).ToVector512(), vb, shared).GetLower(), Vector256.Create(Unsafe.Add(ref scale, s2)) * vScale);
                    a3 = add.AddBlock(a3, sums.Sums(Vector256.LoadUnsafe(ref Unsafe.Add(ref row, q3)).ToVector512(), vb, shared).GetLower(), Vector256.Create(Unsafe.Add(ref scale, s3)) * vScale);
                    a4 = add.AddBlock(a4, sums.Sums(Vector256.LoadUnsafe(ref row4).ToVector512(), vb, shared).GetLower(), Vector256.Create(scale4) * vScale);
                    a5 = add.AddBlock(a5, sums.Sums(Vector256.LoadUnsafe(ref Unsafe.Add(ref row4, q1)).ToVector512(), vb, shared).GetLower(), Vector256.Create(Unsafe.Add(ref scale4, s1)) * vScale);
                    a6 = add.AddBlock(a6, sums.Sums(Vector256.LoadUnsafe(ref Unsafe.Add(ref row4, q2)).ToVector512(), vb, shared).GetLower(), Vector256.Create(Unsafe.Add(ref scale4, s2)) * vScale);
                    a7 = add.AddBlock(a7, sums.Sums(Vector256.LoadUnsafe(ref Unsafe.Add(ref row4, q3)).ToVector512(), vb, shared).GetLower(), Vector256.Create(Unsafe.Add(ref scale4, s3)) * vScale);
                    row = ref Unsafe.Add(ref row, BlockSize);
                    row4 = ref Unsafe.Add(ref row4, BlockSize);
                    scale = ref Unsafe.Add(ref scale, 1);
                    scale4 = ref Unsafe.Add(ref scale4, 1);
                    vq = ref Unsafe.Add(ref vq, BlockSize);
                    vs = ref Unsafe.Add(ref vs, 1);
                }
                if (whole < blocks)
                {
                    // The references now stand at the short last block; rows 0..3, then rows 4..7. Spelled out as in
                    // the AVX2 kernel: shared as an inlined helper taking the accumulators by reference, it cost both
                    // kernels 2–5% at hidden 128, where no short block even occurs (docs/performance-history.md).
                    Vector256<float> vScale = Vector256.Create(vs);
                    ShortBlockSums(ref row, columnCount, whole, ref vq, tailSums);
                    a0 = add.AddBlock(a0, Vector256.ConvertToSingle(Vector256.LoadUnsafe(ref tailRef)), Vector256.Create(scale) * vScale);
                    a1 = add.AddBlock(a1, Vector256.ConvertToSingle(Vector256.LoadUnsafe(ref tailRef, Lanes)), Vector256.Create(Unsafe.Add(ref scale, blocks)) * vScale);
                    a2 = add.AddBlock(a2, Vector256.ConvertToSingle(Vector256.LoadUnsafe(ref tailRef, 2 * Lanes)), Vector256.Create(Unsafe.Add(ref scale, 2 * blocks)) * vScale);
                    a3 = add.AddBlock(a3, Vector256.ConvertToSingle(Vector256.LoadUnsafe(ref tailRef, 3 * Lanes)), Vector256.Create(Unsafe.Add(ref scale, 3 * blocks)) * vScale);
                    ShortBlockSums(ref row4, columnCount, whole, ref vq, tailSums);
                    a4 = add.AddBlock(a4, Vector256.ConvertToSingle(Vector256.LoadUnsafe(ref tailRef)), Vector256.Create(scale4) * vScale);
                    a5 = add.AddBlock(a5, Vector256.ConvertToSingle(Vector256.LoadUnsafe(ref tailRef, Lanes)), Vector256.Create(Unsafe.Add(ref scale4, blocks)) * vScale);
                    a6 = add.AddBlock(a6, Vector256.ConvertToSingle(Vector256.LoadUnsafe(ref tailRef, 2 * Lanes)), Vector256.Create(Unsafe.Add(ref scale4, 2 * blocks)) * vScale);
                    a7 = add.AddBlock(a7, Vector256.ConvertToSingle(Vector256.LoadUnsafe(ref tailRef, 3 * Lanes)), Vector256.Create(Unsafe.Add(ref scale4, 3 * blocks)) * vScale);
                }
            }
            (add.Trees(a0, a1, a2, a3) + Vector128.LoadUnsafe(ref biasRef, (nuint)r0)).StoreUnsafe(ref yRef, (nuint)r0);
            (add.Trees(a4, a5, a6, a7) + Vector128.LoadUnsafe(ref biasRef, (nuint)r0 + 4)).StoreUnsafe(ref yRef, (nuint)r0 + 4);
        }
    }

    /// <summary>
    /// What every tile of a kernel call reads of one part (x with W1, or h with W2), formed once per call: a row's
    /// columns, whole blocks and blocks, where row 0's quants and scales start, and the vector's quants and scales. A
    /// part without a vector has 0 columns and null references (its matrix may be empty). Formed per tile instead, at
    /// hidden 128, where h's part has only two pairs of blocks a tile, perf put 15.4% of the 512-bit kernel's samples in
    /// the tiles' starts (these values from the matrices' fields, and spilled values reloaded) and 22.4% in their ends
    /// (the lane trees, the bias and output through checked slices) against 58.6% in the inner loop
    /// (docs/performance-history.md).
    /// </summary>
    private readonly ref struct TilePart
    {
        public readonly int Columns, Whole;
        public readonly nint Blocks;
        public readonly ref sbyte Rows;
        public readonly ref float RowScales;
        public readonly ref sbyte Quants;
        public readonly ref float Scales;

        public TilePart(scoped in WeightRows w, scoped in QuantizedVector v)
        {
            if (v.Quants.IsEmpty) return;
            Columns = w.Columns;
            Whole = w.Columns / BlockSize;
            Blocks = w.BlocksPerRow;
            Rows = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(w.Quants), w.ElementStart(0));
            RowScales = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(w.Scales), w.ScaleStart(0));
            Quants = ref MemoryMarshal.GetReference(v.Quants);
            Scales = ref MemoryMarshal.GetReference(v.Scales);
        }
    }

    /// <summary>
    /// Two blocks of the vector in the pair-interleaved order: group k of four bytes of the first block, then of the
    /// second, for k = 0..7. The indices are written in the call, constant, so the JIT emits one vpermd.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<sbyte> InPairOrder(Vector512<sbyte> pair)
        => Vector512.Shuffle(pair.AsInt32(), Vector512.Create(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15)).AsSByte();

    /// <summary>Two adjacent scales in the pair-interleaved lane order, <c>[s0, s1, s0, s1, …]</c>: one 64-bit broadcast.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ScalePair(ref float first) => Vector512.Create(Unsafe.ReadUnaligned<double>(ref Unsafe.As<float, byte>(ref first))).AsSingle();

    /// <summary>How a row of <see cref="MultiplyPairAvx512{TAcc, TAccumulator, TPairSums}"/> adds its scaled lane sums.</summary>
    internal interface IPairAccumulator<TAcc> where TAcc : struct
    {
        /// <summary>Adds a pair's 16 lane sums (pair-interleaved) times their scales.</summary>
        TAcc AddPair(TAcc acc, Vector512<float> sums, Vector512<float> scales);

        /// <summary>Adds one block's 8 lane sums times its scale (an odd last whole block, a short last block).</summary>
        TAcc AddBlock(TAcc acc, Vector256<float> sums, Vector256<float> scales);

        /// <summary>Four rows' sums, in <see cref="FixedOrderSum"/>'s tree over their lanes.</summary>
        Vector128<float> Trees(TAcc a0, TAcc a1, TAcc a2, TAcc a3);
    }

    /// <summary>
    /// Fast mode: 16 lanes, a pair's blocks each in its own (lane 2k + block), one fused multiply-add per pair; a single
    /// block adds to lanes 0..7. At the end the 16-lane tree, whose first level (lane l + lane l+8) adds the blocks.
    /// </summary>
    private readonly struct FusedPairs : IPairAccumulator<Vector512<float>>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> AddPair(Vector512<float> acc, Vector512<float> sums, Vector512<float> scales) => default(FusedMultiplyAdd).Invoke(sums, scales, acc);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> AddBlock(Vector512<float> acc, Vector256<float> sums, Vector256<float> scales) => acc.WithLower(default(FusedMultiplyAdd).Invoke(sums, scales, acc.GetLower()));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<float> Trees(Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3) => FixedOrderSum.Trees(a0, a1, a2, a3);
    }

    /// <summary>
    /// Strict mode: the class's 8 lanes and order. A pair's 16 scaled sums, each rounded, are put back in block order
    /// (one vpermps) and added first block, then second, as the 256-bit kernel adds them.
    /// </summary>
    private readonly struct RoundedPairs : IPairAccumulator<Vector256<float>>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> AddPair(Vector256<float> acc, Vector512<float> sums, Vector512<float> scales)
        {
            // Back in block order, the inverse of InPairOrder: the first block's 8 lanes, then the second's.
            Vector512<float> products = Vector512.Shuffle(sums * scales, Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15));
            return acc + products.GetLower() + products.GetUpper();
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> AddBlock(Vector256<float> acc, Vector256<float> sums, Vector256<float> scales) => acc + sums * scales;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<float> Trees(Vector256<float> a0, Vector256<float> a1, Vector256<float> a2, Vector256<float> a3) => FixedOrderSum.Trees(a0, a1, a2, a3);
    }

    /// <summary>
    /// The lane sums of the short last block of four adjacent rows from <paramref name="row"/> (which stands at the
    /// first row's short block, after <paramref name="whole"/> whole ones), each against the vector's block at
    /// <paramref name="vq"/> (padded to a whole one), into <paramref name="tailSums"/>' four groups of 8. The row
    /// offsets are formed here, not passed in: had the loop's lived on across these calls, the JIT would have kept them
    /// in memory and reloaded them every block.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ShortBlockSums(ref sbyte row, int columns, int whole, ref sbyte vq, Span<int> tailSums)
    {
        int count = columns - whole * BlockSize;
        ReadOnlySpan<sbyte> vTail = MemoryMarshal.CreateReadOnlySpan(ref vq, BlockSize);
        LaneSums(MemoryMarshal.CreateReadOnlySpan(ref row, count), vTail, tailSums.Slice(0, Lanes));
        LaneSums(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref row, columns), count), vTail, tailSums.Slice(Lanes, Lanes));
        LaneSums(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref row, 2 * columns), count), vTail, tailSums.Slice(2 * Lanes, Lanes));
        LaneSums(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref row, 3 * columns), count), vTail, tailSums.Slice(3 * Lanes, Lanes));
    }

    /// <summary>
    /// The 8 lane sums of one block (lane k: columns 4k..4k+3) as floats, exact. vpmaddubsw multiplies unsigned bytes
    /// by signed ones, so one factor is made non-negative and the other takes its sign; which one is a choice of speed
    /// only, the integers are the same.
    /// </summary>
    internal interface IBlockSums
    {
        /// <summary>What the rows of a tile share of the vector's block <paramref name="v"/>.</summary>
        Vector256<sbyte> Shared(Vector256<sbyte> v);

        /// <summary>The lane sums of weight block <paramref name="w"/> with <paramref name="v"/>.</summary>
        Vector256<float> Sums(Vector256<sbyte> w, Vector256<sbyte> v, Vector256<sbyte> shared);
    }

    /// <summary>Any weights: |w| times v·sign(w), two operations per row (pairs at most 2·128·127, so never saturated, −128 included).</summary>
    private readonly struct SignOnVector : IBlockSums
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<sbyte> Shared(Vector256<sbyte> v) => v;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Sums(Vector256<sbyte> w, Vector256<sbyte> v, Vector256<sbyte> shared) => PairsToLanes(Avx2.MultiplyAddAdjacent(Avx2.Abs(w), Avx2.Sign(v, w)));
    }

    /// <summary>
    /// Weights without −128 (<see cref="WeightRows.SymmetricQuants"/>; every writer's quants are): |v|, once per block
    /// for the tile, times w·sign(v), one operation per row. vpsignb would leave −128 negated as −128, hence the condition;
    /// the vector's quants never hold it (<see cref="Quantize"/> rounds to ±127 at most).
    /// </summary>
    private readonly struct SignOnWeights : IBlockSums
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<sbyte> Shared(Vector256<sbyte> v) => Avx2.Abs(v).AsSByte();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Sums(Vector256<sbyte> w, Vector256<sbyte> v, Vector256<sbyte> shared) => PairsToLanes(Avx2.MultiplyAddAdjacent(shared.AsByte(), Avx2.Sign(w, v)));
    }

    /// <summary>vpmaddwd against ones: 16 pair sums to the 8 lane sums, converted exactly to float.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> PairsToLanes(Vector256<short> pairs)
        => Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(pairs, Vector256.Create((short)1)));

    /// <summary>
    /// The 16 lane sums of one 64-byte load of weights and vector as floats, exact: lane j sums the products of its
    /// bytes 4j..4j+3. Over two blocks kept pair-interleaved, lane 2k is the first block's lane k and 2k+1 the
    /// second's; over one block zero-extended, lanes 0..7 are its lanes: the integers <see cref="IBlockSums"/> gives.
    /// </summary>
    internal interface IBlockPairSums
    {
        /// <summary>What the eight rows of a tile share of the vector's 64 bytes <paramref name="v"/>.</summary>
        Vector512<sbyte> Shared(Vector512<sbyte> v);

        /// <summary>The lane sums of weight blocks <paramref name="w"/> with <paramref name="v"/>.</summary>
        Vector512<float> Sums(Vector512<sbyte> w, Vector512<sbyte> v, Vector512<sbyte> shared);
    }

    /// <summary>
    /// <see cref="SignOnVector"/> at 512 bits, for any weights: |w| times v with w's sign. AVX-512 has no vpsignb, so
    /// v's sign change is a select between v and −v (negated once for the tile) under w's sign. Where w is 0, so is |w|.
    /// </summary>
    private readonly struct SignOnVectorPairs : IBlockPairSums
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<sbyte> Shared(Vector512<sbyte> v) => -v;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Sums(Vector512<sbyte> w, Vector512<sbyte> v, Vector512<sbyte> shared)
            => PairsToLanes(Avx512BW.MultiplyAddAdjacent(Vector512.Abs(w).AsByte(), Vector512.ConditionalSelect(Vector512.LessThan(w, Vector512<sbyte>.Zero), shared, v)));
    }

    /// <summary>
    /// <see cref="SignOnWeights"/> at 512 bits, for weights without −128: |v| (once for the tile) times w with v's
    /// sign, a select between w and −w under v's sign. Where v is 0, so is |v|.
    /// </summary>
    private readonly struct SignOnWeightsPairs : IBlockPairSums
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<sbyte> Shared(Vector512<sbyte> v) => Vector512.Abs(v);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Sums(Vector512<sbyte> w, Vector512<sbyte> v, Vector512<sbyte> shared)
            => PairsToLanes(Avx512BW.MultiplyAddAdjacent(shared.AsByte(), Vector512.ConditionalSelect(Vector512.LessThan(v, Vector512<sbyte>.Zero), -w, w)));
    }

    /// <summary>vpmaddwd against ones: 32 pair sums to the 16 lane sums, converted exactly to float.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> PairsToLanes(Vector512<short> pairs)
        => Vector512.ConvertToSingle(Avx512BW.MultiplyAddAdjacent(pairs, Vector512.Create((short)1)));

    /// <summary>
    /// The same integers without AVX-512BW, from portable operations: both factors widen to 16 bits, whose products are
    /// exact (at most 128·127); adjacent products add into 32 bits, and adjacent pair sums into 64 bits, each by
    /// shifting one half of a wider element over the other (arithmetic shifts keep the signs); the 64-bit lane sums
    /// narrow back to 32 bits, those of the load's first 32 bytes, then of its second.
    /// </summary>
    private readonly struct WidenedPairSums : IBlockPairSums
    {
        public Vector512<sbyte> Shared(Vector512<sbyte> v) => v;

        public Vector512<float> Sums(Vector512<sbyte> w, Vector512<sbyte> v, Vector512<sbyte> shared)
        {
            (Vector512<short> wFirst, Vector512<short> wSecond) = Vector512.Widen(w);
            (Vector512<short> vFirst, Vector512<short> vSecond) = Vector512.Widen(v);
            Vector512<long> first = AddAdjacent(AddAdjacent(wFirst * vFirst).AsInt64());
            Vector512<long> second = AddAdjacent(AddAdjacent(wSecond * vSecond).AsInt64());
            return Vector512.ConvertToSingle(Vector512.Narrow(first, second));
        }

        /// <summary>Each 32-bit element: the sum of the two 16-bit elements it holds.</summary>
        private static Vector512<int> AddAdjacent(Vector512<short> values)
        {
            Vector512<int> both = values.AsInt32();
            return Vector512.ShiftRightArithmetic(both << 16, 16) + Vector512.ShiftRightArithmetic(both, 16);
        }

        /// <summary>Each 64-bit element: the sum of the two 32-bit elements it holds.</summary>
        private static Vector512<long> AddAdjacent(Vector512<long> both)
            => Vector512.ShiftRightArithmetic(both << 32, 32) + Vector512.ShiftRightArithmetic(both, 32);
    }
}
#endif
