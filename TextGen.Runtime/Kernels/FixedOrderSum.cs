using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
#if NET8_0_OR_GREATER
using System.Runtime.Intrinsics;
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
    /// <paramref name="a0"/> first (a1..a3 unused where the vectors are wider). <paramref name="scratch"/> (16 floats)
    /// receives them in lane order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Tree(Vector<float> a0, Vector<float> a1, Vector<float> a2, Vector<float> a3, Span<float> scratch)
    {
        Span<Vector<float>> vectors = MemoryMarshal.Cast<float, Vector<float>>(scratch);
        int width = Vector<float>.Count;
        vectors[0] = a0;
        if (width <= 8) vectors[1] = a1;
        if (width == 4)
        {
            vectors[2] = a2;
            vectors[3] = a3;
        }
        return Tree(scratch);
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
    /// <summary>The tree over 16 lanes held in one 512-bit vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Tree(Vector512<float> lanes) => Tree(lanes.GetLower(), lanes.GetUpper());

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
#endif
}
