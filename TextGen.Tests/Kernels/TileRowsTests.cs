using TextGen.Runtime.Kernels;

namespace TextGen.Tests.Kernels;

internal sealed class TileRowsTests
{
    [Test]
    public void QuarterTilesCoverEveryRowAndNoOther()
    {
        foreach (int rows in new[] { 1, 2, 3, 4, 5, 7, 64, 252, 253, 256, 257, 1027, 1536, 2048, 2051 })
        {
            var covered = new HashSet<int>();
            for (int tile = 0; tile < TileRows.QuarterSpacing(rows); tile++)
            {
                TileRows t = TileRows.Quarters(tile, rows);
                foreach (int r in new[] { t.R0, t.R1, t.R2, t.R3 })
                {
                    Assert.That(r, Is.InRange(0, rows - 1), $"rows {rows}, tile {tile}");
                    covered.Add(r);
                }
            }
            Assert.That(covered, Has.Count.EqualTo(rows), $"rows {rows}");
        }
    }

    [Test]
    public void QuarterStreamsOfLargeMatricesStartOffExactQuarters()
    {
        // 2048 rows of 2 KB: exact quarters would start the four streams exactly 1 MiB apart, in the same cache sets.
        Assert.That(TileRows.QuarterSpacing(2048), Is.EqualTo(513));
        Assert.That(TileRows.Quarters(0, 2048).R1, Is.EqualTo(513));
        Assert.That(TileRows.QuarterSpacing(252), Is.EqualTo(63), "below 64 tiles the quarters are exact");
        Assert.That(TileRows.Quarters(512, 2048).R3, Is.EqualTo(2047), "the extra tile repeats the last row");
    }
}
