using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
#if NET8_0_OR_GREATER
using System.Runtime.Intrinsics;
#endif

namespace TextGen.Runtime.Kernels;

/// <summary>
/// f16 weights in file order (<see cref="PairedFloat16Weights"/> reads the 512-bit kernel's layout): each load reads half the bytes of f32 and widens them exactly, leaving out the per-weight
/// multiplication by 2^112 that the kernel applies to the vector instead (<c>Float16.ToScaledSingle</c>). The stored
/// halves are the file's times 2^<see cref="WeightRows.HalfShift"/>, so the vector's scale is 2^(112 − shift).
/// </summary>
internal readonly struct Float16Weights : IWeightDecoder
{
    private readonly ushort[] _halves;
    private readonly float _valueScale;

    public Float16Weights(in WeightRows weights)
    {
        _halves = weights.Halves;
        _valueScale = weights.HalfValueScale;
    }

    public float VectorScale => Float16.ExponentRebias * _valueScale;

    public bool PairsBlocks => false;

    public float Get(nuint index) => Float16.ToSingle(_halves[(int)index]) * _valueScale;
#if NET8_0_OR_GREATER
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> LoadHalfBlock(nuint index)
        => Float16.ToScaledSingle(Float16.Widen(Vector128.LoadUnsafe(ref Unsafe.As<ushort, short>(ref MemoryMarshal.GetArrayDataReference(_halves)), index)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Load(nuint index)
        => Float16.ToScaledSingle(Float16.Widen(Vector256.LoadUnsafe(ref Unsafe.As<ushort, short>(ref MemoryMarshal.GetArrayDataReference(_halves)), index)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref byte Element(nuint index) => ref Unsafe.As<ushort, byte>(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_halves), index));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Load(ref byte element, nuint index) => Float16.ToScaledSingle(Float16.Widen(Vector256.LoadUnsafe(ref Unsafe.As<byte, short>(ref element), index)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> LoadOfPair(nuint pairStart, int block) => Load(pairStart + 16 * (nuint)block);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public nuint Address(nuint index) => Prefetch.Address(ref MemoryMarshal.GetArrayDataReference(_halves), index);

    public int StoredBytes => sizeof(ushort);
#endif
}
