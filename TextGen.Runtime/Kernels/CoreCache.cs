#if NET8_0_OR_GREATER
using System.Runtime.Intrinsics.X86;
#endif

namespace TextGen.Runtime.Kernels;

/// <summary>
/// The size of the core's own L2 cache, which decides whether a model's weights stay cached from one step to the next
/// (<see cref="Model.ModelWeights.StaysInCache"/>). Read once from the CPU itself: CPUID leaf 0x80000006, whose ECX
/// bits 31..16 give the L2 size in KiB on Intel and AMD alike (virtual machines pass it through). 0 where the CPU
/// does not say, or is not x64; there the kernels keep prefetching, which only costs time where weights are cached.
/// </summary>
internal static class CoreCache
{
    private const uint ExtendedLeaves = 0x80000000;
    private const uint L2Leaf = 0x80000006;

    /// <summary>Bytes of this core's L2 cache, or 0 if unknown.</summary>
    public static long L2Bytes { get; } = ReadL2Bytes();

    private static long ReadL2Bytes()
    {
#if NET8_0_OR_GREATER
        if (!X86Base.IsSupported) return 0;
        if ((uint)X86Base.CpuId(unchecked((int)ExtendedLeaves), 0).Eax < L2Leaf) return 0;
        return (long)((uint)X86Base.CpuId(unchecked((int)L2Leaf), 0).Ecx >> 16) * 1024;
#else
        return 0;
#endif
    }
}
