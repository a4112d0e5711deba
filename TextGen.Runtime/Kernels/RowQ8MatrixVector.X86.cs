#if NET8_0_OR_GREATER
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TextGen.Runtime.Kernels;

/// <summary>
/// The x64 kernels of <see cref="RowQ8MatrixVector"/>: tiles of eight neighbouring rows share each load of the
/// quantized vector and prefetch the next tile (<see cref="Prefetch"/>); per row and load, vpmaddubsw of the kept
/// weights (unsigned) and the vector (signed), vpmaddwd against ones, vpaddd into 32-bit lanes. The lanes are exact
/// integers, so any order of reducing them gives the row's dot product; the float part is the scalar reference's,
/// eight rows at once. A last tile that would run past the matrix starts 8 rows before its end instead, computing a
/// few rows again to the same bits; a matrix of fewer than 8 rows takes the scalar path.
/// </summary>
internal static partial class RowQ8MatrixVector
{
    private const int TileRows = 8;

    /// <summary>
    /// The tiles, each one's dot products from <typeparamref name="TDots"/> (a struct, so the JIT compiles each kernel on
    /// its own). This and the loops below are compiled fully optimized at their first call: as tier-0 code a 2048 × 64
    /// product took 45–50 µs for its first 4,000 calls against 2.9 µs optimized, which made building a q8 model's input
    /// table (65 such products a load) 2.8 ms of the load instead of 0.6.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MultiplyPairTiles<TDots>(in WeightRows w1, in RowQuantizedVector x, in WeightRows w2, in RowQuantizedVector h, ReadOnlySpan<float> bias, Span<float> y)
        where TDots : struct, ITileDots
    {
        if (y.Length < TileRows)
        {
            MultiplyPairScalar(w1, x, w2, h, bias, y);
            return;
        }
        TDots dots = default;
        for (int tile = 0; tile < (y.Length + TileRows - 1) / TileRows; tile++)
        {
            int r0 = Math.Min(TileRows * tile, y.Length - TileRows);
            StoreTile(dots.Of(w1, r0, x), w1, x, dots.Of(w2, r0, h), w2, h, bias, y, r0);
        }
    }

    /// <summary>The dot products of a tile's eight rows, r0..r0+7, with a vector (0 for an absent one).</summary>
    private interface ITileDots
    {
        Vector256<int> Of(in WeightRows w, int r0, in RowQuantizedVector v);
    }

    private readonly struct Avx512Dots : ITileDots
    {
        public Vector256<int> Of(in WeightRows w, int r0, in RowQuantizedVector v) => DotsAvx512(w, r0, v);
    }

    private readonly struct Avx2Dots : ITileDots
    {
        public Vector256<int> Of(in WeightRows w, int r0, in RowQuantizedVector v) => DotsAvx2(w, r0, v);
    }

    /// <summary>The dot products of rows <paramref name="r0"/>..+7 with <paramref name="v"/>, 64 weights of each row per step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Vector256<int> DotsAvx512(in WeightRows w, int r0, in RowQuantizedVector v)
    {
        if (v.Quants.IsEmpty) return default;
        nint stride = w.Stride;
        ref byte row = ref Unsafe.As<sbyte, byte>(ref w.Quants[w.ElementStart(r0)]);
        ref sbyte vq = ref MemoryMarshal.GetReference(v.Quants);
        Vector512<short> ones = Vector512.Create((short)1);
        Vector512<int> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        nuint nextTile = Prefetch.NextTile(ref row, TileRows, (int)stride);
        for (nint c = 0; c < stride; c += Vector512<byte>.Count)
        {
            Prefetch.Lines(nextTile, 4); // the next tile, as many lines as this step reads
            Prefetch.Lines(nextTile + 4 * Prefetch.LineBytes, 4);
            nextTile += TileRows * (nuint)Vector512<byte>.Count;
            Vector512<sbyte> vb = Vector512.LoadUnsafe(ref vq, (nuint)c);
            ref byte at = ref Unsafe.Add(ref row, c);
            a0 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref at), vb), ones);
            a1 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref Unsafe.Add(ref at, stride)), vb), ones);
            a2 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref Unsafe.Add(ref at, 2 * stride)), vb), ones);
            a3 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref Unsafe.Add(ref at, 3 * stride)), vb), ones);
            a4 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref Unsafe.Add(ref at, 4 * stride)), vb), ones);
            a5 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref Unsafe.Add(ref at, 5 * stride)), vb), ones);
            a6 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref Unsafe.Add(ref at, 6 * stride)), vb), ones);
            a7 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref Unsafe.Add(ref at, 7 * stride)), vb), ones);
        }
        Vector256<int> sums = Sums(a0.GetLower() + a0.GetUpper(), a1.GetLower() + a1.GetUpper(), a2.GetLower() + a2.GetUpper(), a3.GetLower() + a3.GetUpper(),
            a4.GetLower() + a4.GetUpper(), a5.GetLower() + a5.GetUpper(), a6.GetLower() + a6.GetUpper(), a7.GetLower() + a7.GetUpper());
        return sums - Vector256.Create(Bias * v.Sum);
    }

    /// <summary><see cref="DotsAvx512"/> with 256-bit vectors: 32 weights of each row per step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Vector256<int> DotsAvx2(in WeightRows w, int r0, in RowQuantizedVector v)
    {
        if (v.Quants.IsEmpty) return default;
        nint stride = w.Stride;
        ref byte row = ref Unsafe.As<sbyte, byte>(ref w.Quants[w.ElementStart(r0)]);
        ref sbyte vq = ref MemoryMarshal.GetReference(v.Quants);
        Vector256<short> ones = Vector256.Create((short)1);
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        nuint nextTile = Prefetch.NextTile(ref row, TileRows, (int)stride);
        for (nint c = 0; c < stride; c += Vector256<byte>.Count)
        {
            Prefetch.Lines(nextTile, 4); // the next tile, as many lines as this step reads
            nextTile += TileRows * (nuint)Vector256<byte>.Count;
            Vector256<sbyte> vb = Vector256.LoadUnsafe(ref vq, (nuint)c);
            ref byte at = ref Unsafe.Add(ref row, c);
            a0 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref at), vb), ones);
            a1 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref Unsafe.Add(ref at, stride)), vb), ones);
            a2 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref Unsafe.Add(ref at, 2 * stride)), vb), ones);
            a3 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref Unsafe.Add(ref at, 3 * stride)), vb), ones);
            a4 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref Unsafe.Add(ref at, 4 * stride)), vb), ones);
            a5 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref Unsafe.Add(ref at, 5 * stride)), vb), ones);
            a6 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref Unsafe.Add(ref at, 6 * stride)), vb), ones);
            a7 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref Unsafe.Add(ref at, 7 * stride)), vb), ones);
        }
        return Sums(a0, a1, a2, a3, a4, a5, a6, a7) - Vector256.Create(Bias * v.Sum);
    }

    /// <summary>
    /// <see cref="Quantize"/>'s rounding 32 elements at a time, narrowed to bytes in order; returns how many elements
    /// it did (the rest are the caller's) and their quants' sum in <paramref name="sum"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int QuantizeAvx2(ReadOnlySpan<float> v, float inverse, Span<sbyte> quants, out int sum)
    {
        ref float first = ref MemoryMarshal.GetReference(v);
        ref sbyte target = ref MemoryMarshal.GetReference(quants);
        Vector256<float> scale = Vector256.Create(inverse);
        Vector256<int> sums = default;
        int c = 0;
        for (; c + 32 <= v.Length; c += 32)
        {
            Vector256<int> i0 = Vector256.ConvertToInt32(Avx.RoundToNearestInteger(Vector256.LoadUnsafe(ref first, (nuint)c) * scale));
            Vector256<int> i1 = Vector256.ConvertToInt32(Avx.RoundToNearestInteger(Vector256.LoadUnsafe(ref first, (nuint)c + 8) * scale));
            Vector256<int> i2 = Vector256.ConvertToInt32(Avx.RoundToNearestInteger(Vector256.LoadUnsafe(ref first, (nuint)c + 16) * scale));
            Vector256<int> i3 = Vector256.ConvertToInt32(Avx.RoundToNearestInteger(Vector256.LoadUnsafe(ref first, (nuint)c + 24) * scale));
            sums += (i0 + i1) + (i2 + i3);
            Vector256.Narrow(Vector256.Narrow(i0, i1), Vector256.Narrow(i2, i3)).StoreUnsafe(ref target, (nuint)c);
        }
        sum = Vector256.Sum(sums);
        return c;
    }

    /// <summary>The eight lane totals of <paramref name="a0"/>..<paramref name="a7"/>, in that order: two levels of vphaddd, then the halves added.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Sums(Vector256<int> a0, Vector256<int> a1, Vector256<int> a2, Vector256<int> a3, Vector256<int> a4, Vector256<int> a5, Vector256<int> a6, Vector256<int> a7)
    {
        // Per 128-bit half: [a0, a1, a2, a3] of that half's four lanes, then the same for a4..a7.
        Vector256<int> low = Avx2.HorizontalAdd(Avx2.HorizontalAdd(a0, a1), Avx2.HorizontalAdd(a2, a3));
        Vector256<int> high = Avx2.HorizontalAdd(Avx2.HorizontalAdd(a4, a5), Avx2.HorizontalAdd(a6, a7));
        return Avx2.Permute2x128(low, high, 0x20) + Avx2.Permute2x128(low, high, 0x31);
    }

    /// <summary><see cref="Combine"/> of rows <paramref name="r0"/>..+7: the same operations in the same order, lane by lane.</summary>
    private static void StoreTile(Vector256<int> d1, in WeightRows w1, in RowQuantizedVector x, Vector256<int> d2, in WeightRows w2, in RowQuantizedVector h, ReadOnlySpan<float> bias, Span<float> y, int r0)
    {
        Vector256<float> sum = Vector256.ConvertToSingle(d1) * RowScales(w1, r0, x) + Vector256.ConvertToSingle(d2) * RowScales(w2, r0, h);
        (sum + Vector256.Create(bias.Slice(r0, TileRows))).CopyTo(y.Slice(r0, TileRows));
    }

    /// <summary><see cref="RowScale"/> of rows <paramref name="r0"/>..+7.</summary>
    private static Vector256<float> RowScales(in WeightRows w, int r0, in RowQuantizedVector v)
        => v.Quants.IsEmpty ? Vector256<float>.Zero : Vector256.Create(w.Scales.AsSpan(w.ScaleStart(r0), TileRows)) * Vector256.Create(v.Scale);
}
#endif
