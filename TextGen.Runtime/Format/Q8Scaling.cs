namespace TextGen.Runtime.Format;

/// <summary>
/// Which elements of a q8 matrix share a scale when it is encoded (docs/format.md). The file always holds one scale
/// per block of 32; per-row scaling writes the row's to each of its blocks.
/// </summary>
internal enum Q8Scaling
{
    /// <summary>
    /// max|w| / 127 of the whole row: what the exporter writes. A model of such matrices runs the faster
    /// <see cref="Kernels.RowQ8MatrixVector"/>, whose integer sums span whole rows.
    /// </summary>
    PerRow,

    /// <summary>max|w| / 127 of each block of 32: closer to each block's range; run by <see cref="Kernels.Q8MatrixVector"/>.</summary>
    PerBlock,
}
