namespace TextGen.Runtime.Kernels;

/// <summary>
/// How a q8 matrix's whole blocks are kept in memory, chosen at load for the kernel that will read them
/// (<see cref="KernelMode.BestQ8Layout"/>). A layout moves quants within their row and nothing else: the integer
/// products are the same, so a layout decides speed only, and every path reads every layout (the scalar one at least).
/// </summary>
internal enum Q8Layout
{
    /// <summary>As in the file: the AVX2 kernel's, whose vpmaddwd sums adjacent columns.</summary>
    FileOrder,

    /// <summary>Column 4k+j of a block at 8j+k (<see cref="Q8MatrixVector.InterleaveLanes"/>): the <see cref="System.Numerics.Vector{T}"/> kernel's, which has no pairwise add.</summary>
    LaneInterleaved,

    /// <summary>
    /// Two blocks' groups of four columns alternating (<see cref="Q8MatrixVector.InterleavePairs"/>): the AVX-512
    /// kernel's, whose 16 lane sums then alternate between the blocks, as one 64-bit broadcast of their two scales does.
    /// </summary>
    PairInterleaved,
}
