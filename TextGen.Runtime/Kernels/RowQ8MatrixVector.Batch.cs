#if NET8_0_OR_GREATER
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TextGen.Runtime.Kernels;

/// <summary>
/// <see cref="RowQ8MatrixVector"/> for a batch of sessions (<see cref="BatchedMatrixVector"/>'s layout): each session's
/// vectors are quantized as one session's call quantizes them, then tiles of 4 rows × 2 sessions use each load of 32
/// weight bytes for two sessions and each load of 32 quants for four rows, while the tile's rows stay in L1 for the
/// next pair of sessions. A batch still runs vpmaddubsw and vpmaddwd once per weight and session, but these run about
/// 1.6 times as many multiply-adds a second as f32's FMA, and no longer wait on the weights' stream: products for 32
/// sessions ran 1.35× as fast as one session at a time on a Zen 3 (docs/performance-history.md, session 30).
/// <para>The dot products are exact integers, so every (row, session) gets the integer one session's call gets, and
/// the float part is <see cref="Combine"/>'s operations in its order: the bits of stepping each session alone, in
/// either mode and on every CPU. On the 512-bit path these tiles serve only CPUs without AVX-512BW; with it, the
/// single-session kernel multiplies 64 bytes at a time, and whether 256-bit tiles (or 512-bit and VNNI ones, which
/// would give the same bits) beat it there has not been measured: no such CPU was at hand.</para>
/// </summary>
internal static partial class RowQ8MatrixVector
{
    /// <summary>The fewest sessions the batched tiles take: two ran products 1.05× as fast as one session at a time, and whole steps 1.04–1.17×.</summary>
    public const int MinBatchSessions = 2;

    private const int BatchTileRows = 4;
    private const int BatchTileSessions = 2;

    // The workspace's header: each session's scale of x, then of h, and their quant sums, as 64-byte lines of floats.
    private static int HeaderFloats(int sessions) => (4 * sessions + 15) / 16 * 16;

    /// <summary>Whether calls in <paramref name="mode"/> with this many sessions take the batched tiles, given row-scaled q8 and a workspace.</summary>
    public static bool ServesBatch(KernelMode mode, int sessions)
        => sessions >= MinBatchSessions && Avx2.IsSupported && (mode.Path == KernelPath.Vector256 || (mode.Path == KernelPath.Vector512 && !Avx512BW.IsSupported));

    /// <summary>
    /// The workspace floats a batch of <paramref name="sessions"/> needs (at most; an odd one out needs none) for vectors
    /// of <paramref name="n1"/> and <paramref name="n2"/> elements: each session's scales and sums, then its quants of x
    /// and of h, whole 64-byte lines.
    /// </summary>
    public static int BatchWorkspaceFloats(int n1, int n2, int sessions)
        => checked(HeaderFloats(sessions) + sessions * (RowStride(n1) + RowStride(n2)) / sizeof(float));

    /// <summary>
    /// <c>ys_s = W1·xs_s + W2·hs_s + bias_s</c> for every session, row-scaled q8 W1 and W2, in <paramref name="workspace"/>
    /// (<see cref="BatchWorkspaceFloats"/>); false, having done nothing, where the tiles do not serve the call.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // see MultiplyPairTiles
    public static bool TryMultiplyPairBatch(KernelMode mode, in WeightRows w1, ReadOnlySpan<float> xs, in WeightRows w2, ReadOnlySpan<float> hs,
        ReadOnlySpan<float> biases, int biasStride, Span<float> ys, int yStride, int rows, int sessions, Span<float> workspace)
    {
        if (!ServesBatch(mode, sessions) || rows < BatchTileRows) return false;
        int n1 = xs.Length / sessions, n2 = hs.Length / sessions;
        // Sessions in pairs; an odd one out runs the single-session tiles, which read 8 rows at a time, rather than a pair
        // tile that computes it twice.
        int paired = sessions / BatchTileSessions * BatchTileSessions;
        if ((n1 > 0 && !w1.RowScaledQuants) || (n2 > 0 && !w2.RowScaledQuants) || workspace.Length < BatchWorkspaceFloats(n1, n2, paired)) return false;
        int xStride = RowStride(n1), hStride = RowStride(n2);
        Span<float> scales = workspace.Slice(0, 2 * paired);
        Span<int> sums = MemoryMarshal.Cast<float, int>(workspace.Slice(2 * paired, 2 * paired));
        Span<sbyte> quants = MemoryMarshal.Cast<float, sbyte>(workspace.Slice(HeaderFloats(paired))).Slice(0, paired * (xStride + hStride));
        Span<sbyte> xq = quants.Slice(0, paired * xStride), hq = quants.Slice(xq.Length);
        for (int s = 0; s < paired; s++)
        {
            RowQuantizedVector x = Quantize(mode.Path, xs.Slice(s * n1, n1), xq.Slice(s * xStride, xStride));
            RowQuantizedVector h = Quantize(mode.Path, hs.Slice(s * n2, n2), hq.Slice(s * hStride, hStride));
            (scales[s], sums[s]) = (x.Scale, x.Sum);
            (scales[paired + s], sums[paired + s]) = (h.Scale, h.Sum);
        }
        var x1 = new BatchQuants(xq, xStride, scales.Slice(0, paired), sums.Slice(0, paired));
        var h2 = new BatchQuants(hq, hStride, scales.Slice(paired), sums.Slice(paired));
        for (int r0 = 0; r0 < rows; r0 += BatchTileRows)
        {
            int first = Math.Min(r0, rows - BatchTileRows); // a last tile that would run past the matrix overlaps the one before
            for (int s0 = 0; s0 < paired; s0 += BatchTileSessions)
            {
                Vector256<float> y = n1 > 0 ? Vector256.ConvertToSingle(TileDots(w1, x1, first, s0)) * TileScales(w1, x1, first, s0) : default;
                y += n2 > 0 ? Vector256.ConvertToSingle(TileDots(w2, h2, first, s0)) * TileScales(w2, h2, first, s0) : default;
                y += Vector256.Create(Vector128.Create(biases.Slice(s0 * biasStride + first, BatchTileRows)), Vector128.Create(biases.Slice((s0 + 1) * biasStride + first, BatchTileRows)));
                y.GetLower().CopyTo(ys.Slice(s0 * yStride + first, BatchTileRows));
                y.GetUpper().CopyTo(ys.Slice((s0 + 1) * yStride + first, BatchTileRows));
            }
        }
        if (paired < sessions)
        {
            int last = sessions - 1;
            MultiplyPair(mode, w1, xs.Slice(last * n1, n1), w2, hs.Slice(last * n2, n2), biases.Slice(last * biasStride, rows), ys.Slice(last * yStride, rows));
        }
        return true;
    }

    /// <summary>
    /// The exact dot products of a tile: lanes 0..3 rows <paramref name="r0"/>..+3 with session <paramref name="s0"/>,
    /// lanes 4..7 the same rows with session <paramref name="s0"/> + 1.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Vector256<int> TileDots(in WeightRows w, in BatchQuants v, int r0, int s0)
    {
        nint rowStride = w.Stride;
        ref byte row = ref Unsafe.As<sbyte, byte>(ref w.Quants[w.ElementStart(r0)]);
        ref sbyte q0 = ref v.Of(s0);
        ref sbyte q1 = ref v.Of(s0 + 1);
        Vector256<short> ones = Vector256.Create((short)1);
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
        for (nuint c = 0; c < (nuint)rowStride; c += (nuint)Vector256<byte>.Count)
        {
            Vector256<sbyte> v0 = Vector256.LoadUnsafe(ref q0, c), v1 = Vector256.LoadUnsafe(ref q1, c);
            ref byte at = ref Unsafe.Add(ref row, c);
            Vector256<byte> w0 = Vector256.LoadUnsafe(ref at);
            a0 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(w0, v0), ones);
            b0 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(w0, v1), ones);
            w0 = Vector256.LoadUnsafe(ref Unsafe.Add(ref at, rowStride));
            a1 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(w0, v0), ones);
            b1 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(w0, v1), ones);
            w0 = Vector256.LoadUnsafe(ref Unsafe.Add(ref at, 2 * rowStride));
            a2 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(w0, v0), ones);
            b2 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(w0, v1), ones);
            w0 = Vector256.LoadUnsafe(ref Unsafe.Add(ref at, 3 * rowStride));
            a3 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(w0, v0), ones);
            b3 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(w0, v1), ones);
        }
        // Σ (w + 128)·q = Σ w·q + 128·Σ q: the kept weights' 128 comes off once per (row, session).
        Vector256<int> corrections = Vector256.Create(Vector128.Create(v.SumOf(s0)), Vector128.Create(v.SumOf(s0 + 1)));
        return Sums(a0, a1, a2, a3, b0, b1, b2, b3) - corrections * Bias;
    }

    /// <summary><see cref="RowScale"/> of each (row, session) of a tile, in <see cref="TileDots"/>'s lanes: the row's scale times the session's.</summary>
    private static Vector256<float> TileScales(in WeightRows w, in BatchQuants v, int r0, int s0)
    {
        Vector128<float> rowScales = Vector128.Create(w.Scales.AsSpan(w.ScaleStart(r0), BatchTileRows));
        return Vector256.Create(rowScales, rowScales) * Vector256.Create(Vector128.Create(v.ScaleOf(s0)), Vector128.Create(v.ScaleOf(s0 + 1)));
    }

    /// <summary>The paired sessions' quantized vectors of one matrix: quants <c>Stride</c> bytes apart, scales and quant sums.</summary>
    private readonly ref struct BatchQuants
    {
        private readonly Span<sbyte> _quants;
        private readonly int _stride;
        private readonly ReadOnlySpan<float> _scales;
        private readonly ReadOnlySpan<int> _sums;

        public BatchQuants(Span<sbyte> quants, int stride, ReadOnlySpan<float> scales, ReadOnlySpan<int> sums)
        {
            _quants = quants;
            _stride = stride;
            _scales = scales;
            _sums = sums;
        }

        public ref sbyte Of(int session) => ref _quants[session * _stride];

        public float ScaleOf(int session) => _scales[session];

        public int SumOf(int session) => _sums[session];
    }
}
#endif
