#if NET8_0_OR_GREATER
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace TextGen.Runtime.Kernels;

/// <summary>
/// Software prefetch for the matrix-vector kernels. They read tiles of four or eight rows at a time, and at hidden 512 a row
/// is 2 KB (f32) or less: too short a stream for the hardware prefetcher to lock onto before it ends, so without a
/// hint every tile starts with misses to L3 or memory. The rows of a tile are adjacent in memory, and so are the
/// tiles, so while a kernel works through one tile it walks through the next one's bytes at the same pace: block k
/// of the current tile hints the k-th slice of the next (<see cref="NextTile{T}"/>, <see cref="Lines"/>). On the
/// shipped 2×512 model this took f32 from 0.85× to about 1.5× ONNX Runtime's chars/s (docs/performance-history.md).
/// Where a model's weights stay in the core's L2 from step to step, the f32 kernels leave the hints out
/// (<see cref="KernelMode.PrefetchesWeights"/>).
/// <para>
/// Addresses are plain numbers, never managed references, so the last tile's "next" tile may lie past the end of
/// the weights without the GC ever seeing it; should the GC move the weights meanwhile, the hints go to the old
/// address, which costs nothing. A prefetch never faults and never changes a result.
/// </para>
/// </summary>
internal static class Prefetch
{
    /// <summary>Bytes in a cache line on every x64 CPU.</summary>
    public const int LineBytes = 64;

    /// <summary>
    /// The address of the tile after the one that starts at <paramref name="firstRow"/>: <paramref name="rowsPerTile"/>
    /// rows of <paramref name="rowElements"/> elements further on (any distance).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nuint NextTile<T>(ref T firstRow, int rowsPerTile, int rowElements) => Address(ref firstRow, (nuint)rowsPerTile * (nuint)rowElements);

    /// <summary>The address of element <paramref name="index"/> counted from <paramref name="data"/> (any index).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe nuint Address<T>(ref T data, nuint index) => (nuint)Unsafe.AsPointer(ref data) + index * (nuint)Unsafe.SizeOf<T>();

    /// <summary>Hints the <paramref name="count"/> (1 to 4, a constant at the call) cache lines from <paramref name="address"/>; a no-op without SSE.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Lines(nuint address, int count)
    {
        if (!Sse.IsSupported) return;
        byte* line = (byte*)address;
        Sse.Prefetch0(line);
        if (count > 1) Sse.Prefetch0(line + LineBytes);
        if (count > 2) Sse.Prefetch0(line + 2 * LineBytes);
        if (count > 3) Sse.Prefetch0(line + 3 * LineBytes);
    }
}
#endif
