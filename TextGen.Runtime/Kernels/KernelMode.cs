using System.Numerics;
#if NET8_0_OR_GREATER
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
#endif

namespace TextGen.Runtime.Kernels;

/// <summary>
/// The instruction width a kernel runs with. Every path evaluates the same operations in the same order (see
/// <see cref="FixedOrderSum"/>); they differ only in speed, and the tests force each one.
/// </summary>
internal enum KernelPath
{
    /// <summary>Plain C# loops: the reference the other paths are tested against.</summary>
    Scalar,

    /// <summary><see cref="Vector{T}"/>, the widest path netstandard2.1 (Unity, older engines) can use.</summary>
    Vector,
#if NET8_0_OR_GREATER
    /// <summary><see cref="Vector256{T}"/>: AVX2 on x64.</summary>
    Vector256,

    /// <summary><see cref="Vector512{T}"/>: AVX-512 on x64.</summary>
    Vector512,
#endif
}

/// <summary>How the kernels run for one caller: the instruction width and whether products may be fused into sums.</summary>
internal readonly struct KernelMode
{
    public KernelMode(KernelPath path, bool strict, bool prefetchesWeights = true)
    {
        Path = path;
        Strict = strict;
        PrefetchesWeights = prefetchesWeights;
    }

    public KernelPath Path { get; }

    /// <summary>
    /// True: every product is rounded before it is added (never a fused multiply-add), so every path on every CPU
    /// produces the same bits. False: the 256/512-bit paths use FMA where the CPU has it, which changes the last bits
    /// between machines but not between runs on one machine.
    /// </summary>
    public bool Strict { get; }

    /// <summary>
    /// Whether the f32 kernels that read a matrix in tiles of adjacent rows hint the next tile into L1 as they go
    /// (<c>Prefetch</c>, 256- and 512-bit paths). A model's generators turn it off where its weights stay in the core's
    /// L2 between steps (<see cref="Model.ModelWeights.StaysInCache"/>): there the hints only take load slots. The
    /// 512-bit kernel ran a 2×128 LSTM's three products 1.13× faster without them, and the same within 1% with them
    /// where the weights came from L3; the 256-bit one 1.00–1.05× and 0.94× (docs/performance-history.md). f16 and q8
    /// kernels always hint: f16 matrices that fit the L2 are widened to f32 at load, and q8's measured the same either
    /// way. Never changes a result.
    /// </summary>
    public bool PrefetchesWeights { get; }

#if NET8_0_OR_GREATER
    /// <summary>
    /// Whether 256-bit code serving this mode fuses its multiply-adds (<see cref="FusedMultiplyAdd"/>): never in strict
    /// mode, and for the 512-bit path only where AVX-512F is, because that path's own kernels fuse only there. So the
    /// 256-bit code the 512-bit path borrows (batched tiles, large f32 matrices) gives the bits its kernels would.
    /// </summary>
    public bool FusesAt256Bits => !Strict && (Path != KernelPath.Vector512 || Avx512F.IsSupported);
#endif

    /// <summary>The fastest path this process's hardware accelerates.</summary>
    public static KernelPath BestPath { get; } = DetectBestPath();

    public static KernelMode Best(bool strict) => new(BestPath, strict);

    /// <summary>
    /// True when <see cref="BestPath"/> is <see cref="KernelPath.Vector"/> or scalar, whose kernels want the weights
    /// laid out differently from the 256- and 512-bit ones (<see cref="Model.ModelWeights"/>): f16 widened to f32,
    /// since they would decode it one weight at a time into a buffer, about ten times slower than f32; q8 blocks
    /// lane-interleaved (<see cref="BestQ8Layout"/>), since <see cref="System.Numerics.Vector{T}"/> has no pairwise integer add.
    /// </summary>
    public static bool WantsPortableLayout => BestPath is KernelPath.Vector or KernelPath.Scalar;

    /// <summary>Whether f16 matrices are kept in block pairs (<see cref="WeightRows.PairedHalves"/>): where <see cref="BestPath"/> is the 512-bit one.</summary>
#if NET8_0_OR_GREATER
    public static bool PairsHalves => BestPath == KernelPath.Vector512;
#else
    public static bool PairsHalves => false;
#endif

    /// <summary>The layout <see cref="BestPath"/>'s q8 kernel reads (the scalar one's being the <see cref="System.Numerics.Vector{T}"/> one's).</summary>
    public static Q8Layout BestQ8Layout => BestPath switch
    {
#if NET8_0_OR_GREATER
        KernelPath.Vector512 => Q8Layout.PairInterleaved,
        KernelPath.Vector256 => Q8Layout.FileOrder,
#endif
        _ => Q8Layout.LaneInterleaved,
    };

    private static KernelPath DetectBestPath()
    {
#if NET8_0_OR_GREATER
        if (Vector512.IsHardwareAccelerated) return KernelPath.Vector512;
        if (Vector256.IsHardwareAccelerated) return KernelPath.Vector256;
#endif
        // A 16-lane block must split into whole vectors; every real Vector<float> is 4, 8 or 16 wide.
        if (Vector.IsHardwareAccelerated && FixedOrderSum.Lanes % Vector<float>.Count == 0) return KernelPath.Vector;
        return KernelPath.Scalar;
    }
}
