using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TextGen.Runtime.Format;
#if NET8_0_OR_GREATER
using System.Runtime.Intrinsics.X86;
#endif

namespace TextGen.Runtime.Kernels;

/// <summary>
/// <see cref="MatrixVector"/> for q8 weights with one scale per row (<see cref="WeightRows.RowScaledQuants"/>, what the
/// exporter writes): the vector is quantized with one scale too, so a row's whole dot product is one exact integer
/// sum, and the float work is per row, not per block of 32 as in <see cref="Q8MatrixVector"/>.
/// <para>The x64 kernels (RowQ8MatrixVector.X86.cs) multiply 64 (AVX-512) or 32 (AVX2) weights of a row with three
/// instructions: vpmaddubsw, vpmaddwd against ones, vpaddd. vpmaddubsw multiplies unsigned bytes by signed ones, so
/// the weights are kept plus 128 (0..255) and the vector's quants are signed; Σ (w + 128)·v = Σ w·v + 128·Σ v, and
/// 128·Σ v, the same for every row, is subtracted once per row. Its pairwise sums saturate at 16 bits, so the vector
/// is quantized to ±<see cref="VectorLevels"/>: 2·255·64 = 32,640 fits, 2·255·127 would not. Blocks scaled per
/// block with signs moved between factors took about seven vector instructions per row and 64 weights (a step of a
/// 2×512 LSTM's products: 75 µs against 51 in docs/performance-history.md).</para>
/// <para>The result, on every path and in either mode: <c>y[r] = ((float)d1 · (s1[r] · sx) + (float)d2 · (s2[r] · sh)) + bias[r]</c>,
/// d1 and d2 the exact integer dot products (0 for an absent vector), each operation rounded to f32. So strict and
/// fast mode are the same bits, on every CPU and target.</para>
/// </summary>
internal static partial class RowQ8MatrixVector
{
    /// <summary>Largest quant of the vector: ±64, so that vpmaddubsw's pairs of (w + 128)·v cannot saturate.</summary>
    public const int VectorLevels = 64;

    /// <summary>Bytes a kept row is padded to: one 512-bit load, two 256-bit ones, whole <see cref="Vector{T}"/>s of bytes.</summary>
    private const int RowAlignment = 64;

    /// <summary>What a kept quant has added to it: 128, so that it is an unsigned byte.</summary>
    private const int Bias = 128;

    // Vectors up to the format's largest hidden or embedding size are quantized on the stack (8 KiB each).
    private const int MaxStackColumns = ModelArchitecture.MaxHiddenSize;

    /// <summary>Elements of a kept row of <paramref name="columns"/>: whole 64-byte lines.</summary>
    public static int RowStride(int columns) => (columns + RowAlignment - 1) / RowAlignment * RowAlignment;

    /// <summary>A kept quant's value: the byte minus 128, which flipping its top bit gives.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Unbiased(sbyte kept) => (sbyte)(kept ^ sbyte.MinValue);

    /// <summary>
    /// Copies q8 <paramref name="quants"/> (<paramref name="rows"/> × <paramref name="columns"/>, file order) into
    /// <paramref name="kept"/> as <see cref="WeightRows.RowScaledQuants"/> keeps them: plus 128, each row padded to
    /// <see cref="RowStride"/> with 128s (zero weights).
    /// </summary>
#if NET8_0_OR_GREATER
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // a load's first call must not run unoptimized vector code
#endif
    public static void Arrange(ReadOnlySpan<sbyte> quants, int rows, int columns, Span<sbyte> kept)
    {
        int stride = RowStride(columns);
        Span<byte> keptBytes = MemoryMarshal.Cast<sbyte, byte>(kept);
        ReadOnlySpan<byte> fileBytes = MemoryMarshal.Cast<sbyte, byte>(quants);
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<byte> row = fileBytes.Slice(r * columns, columns);
            Span<byte> target = keptBytes.Slice(r * stride, columns);
            int c = 0;
            // Vectors first: at load, the shipped model's 3.3 M quants pass through here.
            if (Vector.IsHardwareAccelerated)
            {
                var flip = new Vector<byte>(0x80);
                for (; c + Vector<byte>.Count <= columns; c += Vector<byte>.Count) MemoryMarshal.Cast<byte, Vector<byte>>(target.Slice(c, Vector<byte>.Count))[0] = MemoryMarshal.Read<Vector<byte>>(row.Slice(c)) ^ flip;
            }
            for (; c < columns; c++) target[c] = (byte)(row[c] ^ 0x80);
            keptBytes.Slice(r * stride + columns, stride - columns).Fill(0x80); // the padding: zero weights
        }
    }

    /// <summary><c>y = W1·x + W2·h + bias</c> with row-scaled q8 W1 and W2; an empty x ignores W1.</summary>
    public static void MultiplyPair(KernelMode mode, in WeightRows w1, ReadOnlySpan<float> x, in WeightRows w2, ReadOnlySpan<float> h, ReadOnlySpan<float> bias, Span<float> y)
    {
        int xStride = RowStride(x.Length), hStride = RowStride(h.Length);
        Span<sbyte> xq = x.Length <= MaxStackColumns ? stackalloc sbyte[xStride] : new sbyte[xStride];
        Span<sbyte> hq = h.Length <= MaxStackColumns ? stackalloc sbyte[hStride] : new sbyte[hStride];
        var qx = Quantize(mode.Path, x, xq);
        var qh = Quantize(mode.Path, h, hq);
        switch (mode.Path)
        {
#if NET8_0_OR_GREATER
            case KernelPath.Vector512 when Avx512BW.IsSupported:
                MultiplyPairTiles<Avx512Dots>(w1, qx, w2, qh, bias, y);
                break;
            case KernelPath.Vector256 or KernelPath.Vector512 when Avx2.IsSupported:
                MultiplyPairTiles<Avx2Dots>(w1, qx, w2, qh, bias, y);
                break;
#endif
            case KernelPath.Vector:
                Span<short> xWide = x.Length <= MaxStackColumns ? stackalloc short[xStride] : new short[xStride];
                Span<short> hWide = h.Length <= MaxStackColumns ? stackalloc short[hStride] : new short[hStride];
                MultiplyPairVector(w1, qx, Widen(xq, xWide), w2, qh, Widen(hq, hWide), bias, y);
                break;
            default:
                MultiplyPairScalar(w1, qx, w2, qh, bias, y);
                break;
        }
    }

    /// <summary>
    /// scale = max|v| / 64 and q = v · (64 / max|v|) rounded half to even, into <paramref name="quants"/> (whole
    /// 64-byte lines, zeros past the vector). A vector of zeros, or one so small that 64 / max|v| overflows, gets
    /// scale 0 and q 0. The same bits on every <paramref name="path"/>: a max in any order is the same value, and each
    /// quant is one multiply and one rounding (vroundps on x64, where a scalar loop took about 5% of a q8 step at hidden 512).
    /// </summary>
#if NET8_0_OR_GREATER
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // see MultiplyPairTiles
#endif
    internal static RowQuantizedVector Quantize(KernelPath path, ReadOnlySpan<float> v, Span<sbyte> quants)
    {
        float largest = 0f;
        int i = 0;
        if (Vector.IsHardwareAccelerated && v.Length >= Vector<float>.Count)
        {
            ReadOnlySpan<Vector<float>> vectors = MemoryMarshal.Cast<float, Vector<float>>(v);
            Vector<float> max = Vector<float>.Zero;
            foreach (Vector<float> vector in vectors) max = Vector.Max(max, Vector.Abs(vector));
            for (int k = 0; k < Vector<float>.Count; k++) largest = Math.Max(largest, max[k]);
            i = vectors.Length * Vector<float>.Count;
        }
        for (; i < v.Length; i++) largest = Math.Max(largest, Math.Abs(v[i]));
        // Every element below the vector's length is written; only the padding needs zeros, or all of it for no scale.
        float inverse = VectorLevels / largest;
        if (float.IsInfinity(inverse))
        {
            quants.Clear();
            return new RowQuantizedVector(quants, 0f, 0);
        }
        quants.Slice(v.Length).Clear();
        int sum = 0, c = 0;
#if NET8_0_OR_GREATER
        if (path is KernelPath.Vector256 or KernelPath.Vector512 && Avx2.IsSupported) c = QuantizeAvx2(v, inverse, quants, out sum);
#endif
        for (; c < v.Length; c++)
        {
            int q = (int)MathF.Round(v[c] * inverse);
            quants[c] = (sbyte)q;
            sum += q;
        }
        return new RowQuantizedVector(quants, largest / VectorLevels, sum);
    }

    /// <summary>The definition: each row's exact integer dot products, then the float combination every path repeats.</summary>
#if NET8_0_OR_GREATER
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // see MultiplyPairTiles
#endif
    internal static void MultiplyPairScalar(in WeightRows w1, in RowQuantizedVector x, in WeightRows w2, in RowQuantizedVector h, ReadOnlySpan<float> bias, Span<float> y)
    {
        for (int r = 0; r < y.Length; r++) y[r] = Combine(DotScalar(w1, r, x), RowScale(w1, r, x), DotScalar(w2, r, h), RowScale(w2, r, h), bias[r]);
    }

#if NET8_0_OR_GREATER
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // see MultiplyPairTiles
#endif
    private static int DotScalar(in WeightRows w, int row, in RowQuantizedVector v)
    {
        if (v.Quants.IsEmpty) return 0;
        ReadOnlySpan<sbyte> kept = w.Quants.AsSpan(w.ElementStart(row), w.Columns);
        int sum = 0;
        for (int c = 0; c < kept.Length; c++) sum += Unbiased(kept[c]) * v.Quants[c];
        return sum;
    }

    /// <summary><c>((float)d1 · scale1 + (float)d2 · scale2) + bias</c>: the float part of every path, one row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Combine(int d1, float scale1, int d2, float scale2, float bias) => ((float)d1 * scale1 + (float)d2 * scale2) + bias;

    /// <summary>A row's scale times the vector's; 0 for an absent vector, whose matrix may be empty.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float RowScale(in WeightRows w, int row, in RowQuantizedVector v) => v.Quants.IsEmpty ? 0f : w.Scales[w.ScaleStart(row)] * v.Scale;

    /// <summary><paramref name="quants"/> as 16-bit integers, the form <see cref="MultiplyPairVector"/> multiplies the widened weights by.</summary>
#if NET8_0_OR_GREATER
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // see MultiplyPairTiles
#endif
    private static ReadOnlySpan<short> Widen(ReadOnlySpan<sbyte> quants, Span<short> wide)
    {
        for (int c = 0; c < quants.Length; c++) wide[c] = quants[c];
        return wide;
    }

    /// <summary>
    /// <see cref="System.Numerics.Vector{T}"/> (netstandard2.1, ARM): tiles of three rows, one from each third of the
    /// matrices as <see cref="MatrixVector.MultiplyRowTile"/> takes them, share each load of the widened vector. The
    /// sums are exact integers, so any order gives every row the bits of the scalar reference.
    /// </summary>
#if NET8_0_OR_GREATER
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // see MultiplyPairTiles
#endif
    private static void MultiplyPairVector(in WeightRows w1, in RowQuantizedVector x, ReadOnlySpan<short> xWide, in WeightRows w2, in RowQuantizedVector h, ReadOnlySpan<short> hWide, ReadOnlySpan<float> bias, Span<float> y)
    {
        int rows = y.Length, tiles = MatrixVector.RowTileCount(rows);
        for (int tile = 0; tile < tiles; tile++)
        {
            int ra = MatrixVector.TileRow(tile, 0, rows), rb = MatrixVector.TileRow(tile, 1, rows), rc = MatrixVector.TileRow(tile, 2, rows);
            var (xa, xb, xc) = DotsVector(w1, ra, rb, rc, x, xWide);
            var (ha, hb, hc) = DotsVector(w2, ra, rb, rc, h, hWide);
            // Repeated rows are stored last to first, as in the f32 tiles (they are equal anyway).
            y[rc] = Combine(xc, RowScale(w1, rc, x), hc, RowScale(w2, rc, h), bias[rc]);
            y[rb] = Combine(xb, RowScale(w1, rb, x), hb, RowScale(w2, rb, h), bias[rb]);
            y[ra] = Combine(xa, RowScale(w1, ra, x), ha, RowScale(w2, ra, h), bias[ra]);
        }
    }

    /// <summary>
    /// The integer dot products of rows <paramref name="ra"/>, <paramref name="rb"/> and <paramref name="rc"/> with
    /// <paramref name="vWide"/>: per vector of kept bytes, each loses its 128 (the top bit flipped) and widens to 16
    /// bits; a weight times a quant is at most 128·64 in size, so the products of the two halves add exactly in 16 bits
    /// (at most 2·8,192), which then widen to 32 and add. A kept row is whole vectors of bytes (<see cref="RowStride"/>),
    /// its padding zero weights against zero quants.
    /// </summary>
#if NET8_0_OR_GREATER
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // see MultiplyPairTiles
#endif
    private static (int A, int B, int C) DotsVector(in WeightRows w, int ra, int rb, int rc, in RowQuantizedVector v, ReadOnlySpan<short> vWide)
    {
        if (v.Quants.IsEmpty) return default;
        int stride = w.Stride, bytes = Vector<sbyte>.Count, shorts = Vector<short>.Count;
        if (vWide.Length < stride) throw new ArgumentException($"the widened vector holds {vWide.Length} quants, not {stride}", nameof(vWide));
        ref sbyte wa = ref MemoryMarshal.GetReference(w.Quants.AsSpan(w.ElementStart(ra), stride));
        ref sbyte wb = ref MemoryMarshal.GetReference(w.Quants.AsSpan(w.ElementStart(rb), stride));
        ref sbyte wc = ref MemoryMarshal.GetReference(w.Quants.AsSpan(w.ElementStart(rc), stride));
        ref short vs = ref MemoryMarshal.GetReference(vWide);
        var flip = new Vector<sbyte>(sbyte.MinValue);
        Vector<int> sa = default, sb = default, sc = default;
        for (int k = 0; k < stride; k += bytes)
        {
            Vector<short> v0 = VectorLoad.At(ref vs, k), v1 = VectorLoad.At(ref vs, k + shorts);
            Vector.Widen(VectorLoad.At(ref wa, k) ^ flip, out Vector<short> a0, out Vector<short> a1);
            Vector.Widen(a0 * v0 + a1 * v1, out Vector<int> ai0, out Vector<int> ai1);
            sa += ai0 + ai1;
            Vector.Widen(VectorLoad.At(ref wb, k) ^ flip, out Vector<short> b0, out Vector<short> b1);
            Vector.Widen(b0 * v0 + b1 * v1, out Vector<int> bi0, out Vector<int> bi1);
            sb += bi0 + bi1;
            Vector.Widen(VectorLoad.At(ref wc, k) ^ flip, out Vector<short> c0, out Vector<short> c1);
            Vector.Widen(c0 * v0 + c1 * v1, out Vector<int> ci0, out Vector<int> ci1);
            sc += ci0 + ci1;
        }
        return (Vector.Dot(sa, Vector<int>.One), Vector.Dot(sb, Vector<int>.One), Vector.Dot(sc, Vector<int>.One));
    }
}

/// <summary>A vector quantized for <see cref="RowQ8MatrixVector"/>: int8 values within ±64 padded to whole 64-byte lines, one scale, and their sum.</summary>
internal readonly ref struct RowQuantizedVector
{
    public RowQuantizedVector(ReadOnlySpan<sbyte> quants, float scale, int sum)
    {
        Quants = quants;
        Scale = scale;
        Sum = sum;
    }

    public ReadOnlySpan<sbyte> Quants { get; } // (RowStride(length)) zero past the vector's length; empty for an absent vector

    public float Scale { get; }                // max|v| / 64

    public int Sum { get; }                    // of the quants: the kernels' 128·Sum correction
}
