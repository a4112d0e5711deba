#if NET8_0_OR_GREATER
using System.Runtime.CompilerServices;

namespace TextGen.Runtime.Kernels;

/// <summary>
/// How <see cref="MatrixVector"/>'s 256-bit f32 kernel walks its tiles: which rows a tile takes, whether it prefetches
/// the next one, and how many tiles read W1 before any of them reads W2. A struct type argument, so each order
/// compiles to its own loop.
/// </summary>
internal interface ITileOrder
{
    /// <summary>Tiles that read all their W1 rows, then all their W2 rows; 1 keeps a tile's sums in registers throughout.</summary>
    int GroupTiles { get; }

    /// <summary>Whether each block may prefetch its share of the next tile (<see cref="Prefetch"/>), where the caller asks for hints (<see cref="KernelMode.PrefetchesWeights"/>).</summary>
    bool Prefetches { get; }

    /// <summary>Tiles that cover a matrix of <paramref name="rows"/> rows.</summary>
    int Count(int rows);

    /// <summary>The rows of tile <paramref name="tile"/> of a matrix of <paramref name="rows"/> rows.</summary>
    TileRows Rows(int tile, int rows);
}

/// <summary><see cref="TileRows.Adjacent"/> tiles one at a time, each prefetching the next unless the weights stay in cache: a short stretch of memory per tile.</summary>
internal readonly struct AdjacentTiles : ITileOrder
{
    public int GroupTiles => 1;

    public bool Prefetches => true;

    public int Count(int rows) => TileRows.Count(rows);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TileRows Rows(int tile, int rows) => TileRows.Adjacent(tile, rows);
}

/// <summary>
/// <see cref="TileRows.Quarters"/> tiles in groups of 16, left to the hardware prefetcher: W1's rows of 16 tiles, then
/// W2's, so the kernel reads four streams at a time, each 16 rows long. Alternating the matrices tile by tile kept
/// eight short streams going, which the kernel alone read 1.25× slower on a 2048 × (512 + 512) layer; groups of 4
/// tiles read 0.90× as fast as 16, groups of 64 the same (docs/performance-history.md).
/// </summary>
internal readonly struct QuarterTiles : ITileOrder
{
    public int GroupTiles => 16;

    public bool Prefetches => false;

    public int Count(int rows) => TileRows.QuarterSpacing(rows);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TileRows Rows(int tile, int rows) => TileRows.Quarters(tile, rows);
}
#endif
