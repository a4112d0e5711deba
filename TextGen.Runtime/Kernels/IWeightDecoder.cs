#if NET8_0_OR_GREATER
using System.Runtime.Intrinsics;
#endif

namespace TextGen.Runtime.Kernels;

/// <summary>
/// Turns stored weights into floats inside <see cref="EncodedMatrixVector"/>'s loops, as a struct type argument so
/// the JIT compiles one loop per dtype with the decoding inlined (the pattern of the multiply-add operators). Rows are
/// addressed by their first element's index in the whole matrix and their first q8 scale's index.
/// </summary>
internal interface IWeightDecoder
{
    /// <summary>Element <paramref name="column"/> of the row: exactly <see cref="WeightRows"/>' indexer.</summary>
    float Get(nuint rowStart, nuint scaleStart, int column);

    /// <summary>
    /// A power of two that the vector loads leave out of every weight: they return the elements divided by it, exactly,
    /// and the kernel multiplies the vector by it once per call instead, which gives the same products.
    /// </summary>
    float VectorScale { get; }
#if NET8_0_OR_GREATER
    /// <summary>Elements <paramref name="column"/>.. +16 of the row (column a multiple of 16, all inside the row), divided by <see cref="VectorScale"/>, as lanes 0..7 and 8..15.</summary>
    void Load(nuint rowStart, nuint scaleStart, nuint column, out Vector256<float> low, out Vector256<float> high);

    /// <summary>Elements <paramref name="column"/>.. +16 of the row (column a multiple of 16, all inside the row), divided by <see cref="VectorScale"/>.</summary>
    Vector512<float> Load(nuint rowStart, nuint scaleStart, nuint column);

    /// <summary>Bytes per stored element.</summary>
    int StoredBytes { get; }

    /// <summary>The address of stored element <paramref name="index"/> of the whole matrix, for <see cref="Prefetch"/> (any index).</summary>
    nuint Address(nuint index);
#endif
}
