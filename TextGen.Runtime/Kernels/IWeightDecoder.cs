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
#if NET8_0_OR_GREATER
    /// <summary>Elements <paramref name="column"/>.. +8 of the row (column a multiple of 8, all inside the row).</summary>
    Vector256<float> Load8(nuint rowStart, nuint scaleStart, nuint column);

    /// <summary>Elements <paramref name="column"/>.. +16 of the row (column a multiple of 16, all inside the row).</summary>
    Vector512<float> Load16(nuint rowStart, nuint scaleStart, nuint column);
#endif
}
