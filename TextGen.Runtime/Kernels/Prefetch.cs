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
/// <para>A prefetch is only a hint: it never faults, also past the end of the data, and never changes a result.</para>
/// </summary>
internal static class Prefetch
{
    /// <summary>How many rows ahead of the current ones the kernels prefetch: one four-row tile.</summary>
    public const int TileAhead = 4;

    /// <summary>Asks for the cache line of element <paramref name="index"/> counted from <paramref name="data"/>; a no-op without SSE.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Line<T>(ref T data, nuint index)
    {
        // The address is computed on an unmanaged pointer, so no managed reference ever points past the array. Should
        // the GC move the array meanwhile, the hint goes to the old address, which costs nothing.
        if (Sse.IsSupported) Sse.Prefetch0((byte*)Unsafe.AsPointer(ref data) + index * (nuint)Unsafe.SizeOf<T>());
    }
}
#endif
