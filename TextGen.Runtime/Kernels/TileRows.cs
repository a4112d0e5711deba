#if NET8_0_OR_GREATER
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace TextGen.Runtime.Kernels;

/// <summary>
/// The four rows one tile of a 256- or 512-bit matrix-vector kernel computes, and where their sums go. A tile needs
/// four distinct rows only as far as the matrix has them: a last tile repeats the final row, and stores it again.
/// <para>Two orders. <see cref="Adjacent"/> tiles are four neighbouring rows, one short stretch of memory, whose
/// successor the kernels prefetch while they work (<see cref="Prefetch"/>). <see cref="Quarters"/> tiles take the
/// same row of each quarter of the matrix, so the kernel reads four long streams that each run straight through a
/// quarter, as <c>ReadBandwidth</c>'s fastest loop does, and the hardware prefetcher follows them on its own. Which
/// order reads faster depends on the matrix and the dtype (docs/performance-history.md); the sums are the same.</para>
/// </summary>
internal readonly struct TileRows
{
    private TileRows(int r0, int r1, int r2, int r3)
    {
        R0 = r0;
        R1 = r1;
        R2 = r2;
        R3 = r3;
    }

    public int R0 { get; }

    public int R1 { get; }

    public int R2 { get; }

    public int R3 { get; }

    /// <summary>Tiles that cover <paramref name="rows"/> rows.</summary>
    public static int Count(int rows) => (rows + 3) / 4;

    /// <summary>Tile <paramref name="tile"/> of rows 4·tile .. 4·tile + 3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TileRows Adjacent(int tile, int rows)
    {
        int r0 = 4 * tile, last = rows - 1;
        return new TileRows(r0, Math.Min(r0 + 1, last), Math.Min(r0 + 2, last), Math.Min(r0 + 3, last));
    }

    /// <summary>
    /// Rows between the four streams of <see cref="Quarters"/> tiles, and so the number of tiles: a quarter of the rows,
    /// plus one from 64 tiles on. With exact quarters the streams of a 2048-row matrix of 2 KB rows start exactly 1 MiB
    /// apart and compete for the same cache sets: a four-stream read at that spacing ran 8–17% slower than at 1 MiB +
    /// 2 KB (docs/performance-history.md). The extra tile repeats the last row 4 to 7 times, under 3% of the rows from 64 tiles on.
    /// </summary>
    public static int QuarterSpacing(int rows) => Count(rows) >= 64 ? Count(rows) + 1 : Count(rows);

    /// <summary>Tile <paramref name="tile"/> of rows tile + k·<see cref="QuarterSpacing"/> for k = 0..3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TileRows Quarters(int tile, int rows)
    {
        int spacing = QuarterSpacing(rows), last = rows - 1;
        return new TileRows(tile, Math.Min(tile + spacing, last), Math.Min(tile + 2 * spacing, last), Math.Min(tile + 3 * spacing, last));
    }

    /// <summary><c>y[R_k] = sums[k] + bias[R_k]</c>: one vector store where the rows are four neighbours.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store(Vector128<float> sums, ReadOnlySpan<float> bias, Span<float> y)
    {
        if (R1 == R0 + 1 && R3 == R0 + 3) // four neighbours (a quarter tile is never: its R1 is a quarter on, or the last row)
        {
            (sums + Vector128.Create(bias.Slice(R0, 4))).CopyTo(y.Slice(R0, 4));
            return;
        }
        y[R3] = sums.GetElement(3) + bias[R3];
        y[R2] = sums.GetElement(2) + bias[R2];
        y[R1] = sums.GetElement(1) + bias[R1];
        y[R0] = sums.GetElement(0) + bias[R0];
    }
}
#endif
