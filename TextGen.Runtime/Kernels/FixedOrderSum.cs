using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
#if NET8_0_OR_GREATER
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
#endif

namespace TextGen.Runtime.Kernels;

/// <summary>
/// The one summation order of the library. Float addition is not associative, so a sum's bits depend on its order;
/// fixing the order independently of the hardware's vector width is what makes strict mode identical everywhere.
/// Element <c>j</c> of a sequence goes to lane <c>j mod 16</c>; the 16 lanes are then reduced by a pairwise tree:
/// lane l += lane l+8, then l += l+4, then l += l+2, then lane 0 + lane 1. A 512-bit vector holds the 16 lanes
/// directly; 256-bit paths hold them as two vectors; <see cref="System.Numerics.Vector{T}"/> as 16/Count vectors.
/// </summary>
internal static class FixedOrderSum
{
    /// <summary>Lanes a sum is spread over: the widest vector of floats any supported CPU has (AVX-512).</summary>
    public const int Lanes = 16;

    /// <summary>The pairwise tree over 16 lanes, spelled out (a loop writing partial sums back would stall on store-to-load forwarding).</summary>
    public static float Tree(ReadOnlySpan<float> lanes)
    {
        float e0 = lanes[0] + lanes[8], e1 = lanes[1] + lanes[9], e2 = lanes[2] + lanes[10], e3 = lanes[3] + lanes[11];
        float e4 = lanes[4] + lanes[12], e5 = lanes[5] + lanes[13], e6 = lanes[6] + lanes[14], e7 = lanes[7] + lanes[15];
        return Tree8(e0, e1, e2, e3, e4, e5, e6, e7);
    }

    /// <summary>
    /// The tree over the 16 lanes as a <see cref="System.Numerics.Vector{T}"/> kernel holds them: 16/Count accumulators,
    /// <paramref name="a0"/> first (a1..a3 unused where the vectors are wider). The levels that pair whole vectors are
    /// vector adds (with 4-float vectors, lane l + lane l+8 is a0 + a2 and a1 + a3, and lane k + lane k+4 their sum),
    /// the rest element by element: the same additions of the same pairs, without a round trip through memory.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Tree(Vector<float> a0, Vector<float> a1, Vector<float> a2, Vector<float> a3)
    {
        int width = Vector<float>.Count;
        if (width == 4)
        {
            Vector<float> f = (a0 + a2) + (a1 + a3);
            return (f[0] + f[2]) + (f[1] + f[3]);
        }
        if (width == 8)
        {
            Vector<float> e = a0 + a1;
            return Tree8(e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7]);
        }
        return Tree8(a0[0] + a0[8], a0[1] + a0[9], a0[2] + a0[10], a0[3] + a0[11], a0[4] + a0[12], a0[5] + a0[13], a0[6] + a0[14], a0[7] + a0[15]);
    }

    /// <summary>The tree's last three levels over 8 lanes (q8's integer kernel sums its blocks into 8).</summary>
    public static float Tree8(ReadOnlySpan<float> lanes) => Tree8(lanes[0], lanes[1], lanes[2], lanes[3], lanes[4], lanes[5], lanes[6], lanes[7]);

    private static float Tree8(float e0, float e1, float e2, float e3, float e4, float e5, float e6, float e7)
    {
        float f0 = e0 + e4, f1 = e1 + e5, f2 = e2 + e6, f3 = e3 + e7;
        return (f0 + f2) + (f1 + f3);
    }

    /// <summary>Sum of <paramref name="values"/> in the fixed order, one element at a time.</summary>
    public static float Sum(ReadOnlySpan<float> values)
    {
        Span<float> lanes = stackalloc float[Lanes];
        lanes.Clear();
        for (int j = 0; j < values.Length; j++) lanes[j % Lanes] += values[j];
        return Tree(lanes);
    }

#if NET8_0_OR_GREATER
    /// <summary>The tree over lanes 0..7 in <paramref name="low"/> and 8..15 in <paramref name="high"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Tree(Vector256<float> low, Vector256<float> high) => Tree(low + high);

    /// <summary>The last three levels over 8 lanes in one vector, as <see cref="Tree8(ReadOnlySpan{float})"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Tree(Vector256<float> eight)
    {
        Vector128<float> four = eight.GetLower() + eight.GetUpper();
        return (four.GetElement(0) + four.GetElement(2)) + (four.GetElement(1) + four.GetElement(3));
    }

    /// <summary>
    /// <see cref="Tree(Vector256{float})"/> of four rows at once (a kernel tile's accumulators), element k of the
    /// result being row k's: the same additions of the same pairs, with the rows side by side in the vectors, about 14
    /// shuffles and adds for the four instead of some 30 scalar extractions and adds, which counts where rows are
    /// short (hidden 128). Needs AVX, as every 256- and 512-bit path has.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Trees(Vector256<float> e0, Vector256<float> e1, Vector256<float> e2, Vector256<float> e3)
    {
        // Level 1, lane k + lane k+4: rows 0 and 2 side by side (one per 128-bit half), rows 1 and 3 likewise.
        Vector256<float> f02 = Avx.Permute2x128(e0, e2, 0x20) + Avx.Permute2x128(e0, e2, 0x31);
        Vector256<float> f13 = Avx.Permute2x128(e1, e3, 0x20) + Avx.Permute2x128(e1, e3, 0x31);
        // Level 2: elements 0 and 1 of each half become f0 + f2 and f1 + f3.
        Vector256<float> g02 = f02 + Avx.Permute(f02, 0b01_00_11_10);
        Vector256<float> g13 = f13 + Avx.Permute(f13, 0b01_00_11_10);
        // Level 3, (f0 + f2) + (f1 + f3): per half [row 0, row 0, row 1, row 1], then [row 2, row 2, row 3, row 3].
        Vector256<float> h = Avx.Shuffle(g02, g13, 0b00_00_00_00) + Avx.Shuffle(g02, g13, 0b01_01_01_01);
        return Sse.Shuffle(h.GetLower(), h.GetUpper(), 0b10_00_10_00);
    }

    /// <summary>
    /// The whole tree of four rows' 16 lanes at once, element k of the result being row k's: the same additions of the
    /// same pairs as <c>Trees(a0.GetLower() + a0.GetUpper(), …)</c>, in 512-bit shuffles: 14 operations for the four
    /// rows instead of about 20 and two stack spills per call in the batched 6 × 4 tile, whose 24 accumulators leave the
    /// JIT few spare registers (the tile ran 2–4% faster; docs/performance-history.md). Without AVX-512F (a forced
    /// 512-bit path) it takes the 256-bit trees.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Trees(Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3)
    {
        if (!Avx512F.IsSupported) return Trees(a0.GetLower() + a0.GetUpper(), a1.GetLower() + a1.GetUpper(), a2.GetLower() + a2.GetUpper(), a3.GetLower() + a3.GetUpper());
        // Level 0, lane l + lane l+8: row 0's eight sums then row 1's, and rows 2 and 3 likewise.
        Vector512<float> e01 = Avx512F.Shuffle4x128(a0, a1, 0b01_00_01_00) + Avx512F.Shuffle4x128(a0, a1, 0b11_10_11_10);
        Vector512<float> e23 = Avx512F.Shuffle4x128(a2, a3, 0b01_00_01_00) + Avx512F.Shuffle4x128(a2, a3, 0b11_10_11_10);
        // Level 1, lane k + lane k+4: row k's four sums in 128-bit block k.
        Vector512<float> f = Avx512F.Shuffle4x128(e01, e23, 0b10_00_10_00) + Avx512F.Shuffle4x128(e01, e23, 0b11_01_11_01);
        // Levels 2 and 3 within each block: elements 0 and 1 become f0 + f2 and f1 + f3, then element 0 their sum.
        Vector512<float> g = f + Avx512F.Permute4x32(f, 0b01_00_11_10);
        Vector512<float> h = g + Avx512F.Permute4x32(g, 0b10_11_00_01);
        // Element 0 of each block. The indices are written here, not read from a static field, so the JIT folds them.
        return Avx512F.PermuteVar16x32(h, Vector512.Create(0, 4, 8, 12, 0, 4, 8, 12, 0, 4, 8, 12, 0, 4, 8, 12)).GetLower().GetLower();
    }

    /// <summary>
    /// The tree of 16 rows at once, each vector element a row: lane l of every row is the vector
    /// <paramref name="laneStride"/>·l vectors after <paramref name="lane0"/>. The same additions of the same pairs as
    /// <see cref="Tree(ReadOnlySpan{float})"/>, with no shuffle: the form of kernels that put rows in a vector's lanes.
    /// </summary>
    public static Vector512<float> Tree(ref Vector512<float> lane0, int laneStride)
    {
        // Each 512-bit vector is two 256-bit halves in memory, rows 0..7 then 8..15: the 8-row tree of each half.
        ref Vector256<float> halves = ref Unsafe.As<Vector512<float>, Vector256<float>>(ref lane0);
        return Vector512.Create(Tree(ref halves, 2 * laneStride), Tree(ref Unsafe.Add(ref halves, 1), 2 * laneStride));
    }

    /// <summary>
    /// <see cref="Tree(ref Vector512{float}, int)"/> of 8 rows, which the 16-row form runs on each half;
    /// <paramref name="laneStride"/> counts 256-bit vectors.
    /// </summary>
    public static Vector256<float> Tree(ref Vector256<float> lane0, int laneStride)
    {
        Vector256<float> Lane(ref Vector256<float> first, int lane) => Unsafe.Add(ref first, lane * laneStride);
        Vector256<float> e0 = Lane(ref lane0, 0) + Lane(ref lane0, 8), e1 = Lane(ref lane0, 1) + Lane(ref lane0, 9);
        Vector256<float> e2 = Lane(ref lane0, 2) + Lane(ref lane0, 10), e3 = Lane(ref lane0, 3) + Lane(ref lane0, 11);
        Vector256<float> e4 = Lane(ref lane0, 4) + Lane(ref lane0, 12), e5 = Lane(ref lane0, 5) + Lane(ref lane0, 13);
        Vector256<float> e6 = Lane(ref lane0, 6) + Lane(ref lane0, 14), e7 = Lane(ref lane0, 7) + Lane(ref lane0, 15);
        Vector256<float> f0 = e0 + e4, f1 = e1 + e5, f2 = e2 + e6, f3 = e3 + e7;
        return (f0 + f2) + (f1 + f3);
    }
#endif
}
