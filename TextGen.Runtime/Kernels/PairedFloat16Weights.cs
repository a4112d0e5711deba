using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
#if NET8_0_OR_GREATER
using System.Runtime.Intrinsics;
#endif

namespace TextGen.Runtime.Kernels;

/// <summary>
/// f16 weights in <see cref="WeightRows.PairedHalves"/>' layout, decoded to the values, lanes and scale that
/// <see cref="Float16Weights"/> gives in file order: a load reads the 32-bit words of its block pair and shifts the
/// wanted halves to the top of each word (low halves hold a pair's first 16 columns, high halves its second 16).
/// </summary>
internal readonly struct PairedFloat16Weights : IWeightDecoder
{
    private readonly ushort[] _halves;
    private readonly float _valueScale;
    private readonly int _origin;

    public PairedFloat16Weights(in WeightRows weights)
    {
        _halves = weights.Halves;
        _valueScale = weights.HalfValueScale;
        _origin = weights.Origin;
    }

    public float VectorScale => Float16.ExponentRebias * _valueScale;

    public bool PairsBlocks => true;

    public float Get(nuint index) => Float16.ToSingle(_halves[_origin + Float16.PairedPosition((int)index - _origin)]) * _valueScale;
#if NET8_0_OR_GREATER
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> LoadHalfBlock(nuint index)
    {
        // Columns k..k+7 of a pair (k = 0, 8, 16 or 24) are halves of words k mod 16 .. +7: low ones for k < 16.
        nuint inPair = (index - (nuint)_origin) % Float16.PairColumns;
        Vector256<int> words = Vector256.LoadUnsafe(ref Words(index - inPair), inPair % 16);
        return Float16.ToScaledSingleFromHigh(InSecondBlock(inPair) ? words : Vector256.ShiftLeft(words, 16));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Load(nuint index)
    {
        nuint inPair = (index - (nuint)_origin) % Float16.PairColumns;
        return Load(ref Element(index - inPair), inPair);
    }

    /// <summary>Stored element <paramref name="index"/>: the start of a row or block pair, where <see cref="Load(ref byte, nuint)"/> counts from.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref byte Element(nuint index) => ref Unsafe.As<ushort, byte>(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_halves), index));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Load(ref byte element, nuint index)
    {
        Vector512<int> words = Vector512.LoadUnsafe(ref Unsafe.As<byte, int>(ref element), (index - index % Float16.PairColumns) / 2);
        return Float16.ToScaledSingleFromHigh(InSecondBlock(index) ? words : Vector512.ShiftLeft(words, 16));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> LoadOfPair(nuint pairStart, int block)
    {
        Vector512<int> words = Vector512.LoadUnsafe(ref Words(pairStart));
        return Float16.ToScaledSingleFromHigh(block == 0 ? Vector512.ShiftLeft(words, 16) : words);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public nuint Address(nuint index) => Prefetch.Address(ref MemoryMarshal.GetArrayDataReference(_halves), index);

    public int StoredBytes => sizeof(ushort);

    private ref int Words(nuint index) => ref Unsafe.As<byte, int>(ref Element(index));

    /// <summary>
    /// Whether column <paramref name="column"/> (counted from a row's start) is in its pair's second block, whose halves
    /// are the words' high ones; the first block's are shifted up 16. A branch rather than a shift by a variable count:
    /// the kernels step 16 columns at a time, so it alternates, which the CPU predicts, and batches of 8 and 32 f16
    /// sessions ran at 0.95–1.15× the file-order speed so, against 0.81–0.89× with the variable shift (docs/performance-history.md).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool InSecondBlock(nuint column) => (column & 16) != 0;
#endif
}
