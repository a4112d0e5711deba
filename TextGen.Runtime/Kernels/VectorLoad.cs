using System.Numerics;
using System.Runtime.CompilerServices;

namespace TextGen.Runtime.Kernels;

/// <summary>
/// Unchecked <see cref="Vector{T}"/> loads for the portable kernels' inner loops, where a bounds check per load cost
/// about as much as the multiply-add it guarded. Callers check their spans' lengths once, before the loop.
/// </summary>
internal static class VectorLoad
{
    /// <summary>The vector at <paramref name="offset"/> elements from <paramref name="start"/>, unaligned.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> At<T>(ref T start, int offset) where T : struct
        => Unsafe.ReadUnaligned<Vector<T>>(ref Unsafe.As<T, byte>(ref Unsafe.Add(ref start, offset)));
}
