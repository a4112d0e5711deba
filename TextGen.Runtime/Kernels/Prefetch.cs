#if NET8_0_OR_GREATER
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace TextGen.Runtime.Kernels;

/// <summary>
/// Software prefetch for the matrix-vector kernels. They read four rows at a time, and at hidden 512 a row is 2 KB
/// (f32) or less: too short a stream for the hardware prefetcher to lock onto before it ends, so without a hint
/// every four-row tile starts with misses to L3 or memory. While a kernel works through one tile it asks for the
/// matching line of the next one (<see cref="TileAhead"/>). On the shipped 2×512 model this took f32 from 0.85× to
/// about 1.5× ONNX Runtime's chars/s (docs/performance.md).
/// <para>
/// A kernel takes a row's prefetch address once per tile (<see cref="Address{T}"/>) and then hints one line per
/// block (<see cref="Line{T}"/>), a single instruction. Addresses are plain numbers, never managed references, so
/// one may point past the end of the weights (the last tile's "next" rows) without the GC ever seeing it; should the
/// GC move the weights meanwhile, a hint goes to the old address, which costs nothing. A prefetch never faults and
/// never changes a result.
/// </para>
/// </summary>
internal static class Prefetch
{
    /// <summary>How many rows ahead of the current ones the kernels prefetch: one four-row tile.</summary>
    public const int TileAhead = 4;

    /// <summary>The address of element <paramref name="index"/> counted from <paramref name="data"/> (any index).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe nuint Address<T>(ref T data, nuint index) => (nuint)Unsafe.AsPointer(ref data) + index * (nuint)Unsafe.SizeOf<T>();

    /// <summary>Asks for the cache line of the <typeparamref name="T"/> element <paramref name="index"/> from <paramref name="address"/>; a no-op without SSE.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Line<T>(nuint address, nuint index) where T : unmanaged
    {
        if (Sse.IsSupported) Sse.Prefetch0((T*)address + index);
    }
}
#endif
