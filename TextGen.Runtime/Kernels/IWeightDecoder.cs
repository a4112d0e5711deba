#if NET8_0_OR_GREATER
using System.Runtime.Intrinsics;
#endif

namespace TextGen.Runtime.Kernels;

/// <summary>
/// Turns stored weights into floats inside <see cref="EncodedMatrixVector"/>'s loops, as a struct type argument so
/// the JIT compiles one loop per dtype with the decoding inlined (the pattern of the multiply-add operators). Elements
/// are addressed by their index in the whole matrix, so a kernel can step one index per row through its loop.
/// </summary>
internal interface IWeightDecoder
{
    /// <summary>Element <paramref name="index"/> of the matrix: exactly <see cref="WeightRows"/>' indexer.</summary>
    float Get(nuint index);

    /// <summary>
    /// A power of two that the vector loads leave out of every weight: they return the elements divided by it, exactly,
    /// and the kernel multiplies the vector by it once per call instead, which gives the same products.
    /// </summary>
    float VectorScale { get; }

    /// <summary>Whether rows are kept as pairs of 16-column blocks that <c>LoadOfPair</c> reads from one 64-byte load (f16's <see cref="WeightRows.PairedHalves"/>).</summary>
    bool PairsBlocks { get; }
#if NET8_0_OR_GREATER

    /// <summary>Elements <paramref name="index"/>.. +8 of the matrix (all in one row; half a 16-lane block), divided by <see cref="VectorScale"/>.</summary>
    Vector256<float> LoadHalfBlock(nuint index);

    /// <summary>Elements <paramref name="index"/>.. +16 of the matrix (all in one row), divided by <see cref="VectorScale"/>.</summary>
    Vector512<float> Load(nuint index);

    /// <summary>
    /// Stored element <paramref name="index"/>, as a reference for <see cref="Load(ref byte, nuint)"/>: a tile that
    /// holds one per row addresses each load as that row plus the block, without recomputing where the matrix starts,
    /// which leaves the 512-bit batched tiles' loops enough general registers to keep everything in them.
    /// </summary>
    ref byte Element(nuint index);

    /// <summary>Elements <paramref name="index"/>.. +16 counted from <paramref name="element"/> (<see cref="Element"/>), as <see cref="Load(nuint)"/> gives them.</summary>
    Vector512<float> Load(ref byte element, nuint index);

    /// <summary>
    /// Block <paramref name="block"/> (0 or 1, a constant at the call) of the block pair that starts at element
    /// <paramref name="pairStart"/>: <see cref="Load(nuint)"/> at <paramref name="pairStart"/> + 16 · <paramref name="block"/>.
    /// Paired layouts read both blocks from the same 64 bytes, which the JIT loads once for the two calls.
    /// </summary>
    Vector512<float> LoadOfPair(nuint pairStart, int block);

    /// <summary>Bytes per stored element.</summary>
    int StoredBytes { get; }

    /// <summary>The address of stored element <paramref name="index"/> of the whole matrix, for <see cref="Prefetch"/> (any index).</summary>
    nuint Address(nuint index);
#endif
}
