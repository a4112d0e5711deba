using System.Numerics;
using System.Runtime.CompilerServices;

namespace TextGen.Runtime.Kernels;

/// <summary>
/// Unchecked <see cref="Vector{T}"/> loads for the portable kernels' inner loops, where a bounds check per load cost
/// about as much as the multiply-add it guarded. Callers check their spans' lengths once, before the loop.
/// <see cref="Unsafe"/> is in the box from .NET Core 3.0 on; the netstandard2.1 build gets it with MessagePack, the
/// Runtime's one dependency (System.Runtime.CompilerServices.Unsafe, listed in docs/embedding.md).
/// </summary>
internal static class VectorLoad
{
    /// <summary>The vector at <paramref name="offset"/> elements from <paramref name="start"/>, unaligned.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> At<T>(ref T start, int offset) where T : struct
        => Unsafe.ReadUnaligned<Vector<T>>(ref Unsafe.As<T, byte>(ref Unsafe.Add(ref start, offset)));
}
