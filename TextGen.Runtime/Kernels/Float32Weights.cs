using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
#if NET8_0_OR_GREATER
using System.Runtime.Intrinsics;
#endif

namespace TextGen.Runtime.Kernels;

/// <summary>
/// f32 weights as an <see cref="IWeightDecoder"/>: loads are plain loads and the scale is 1, so the f32 batches run
/// the same tiles as f16 (<see cref="BatchedMatrixVector"/>). The single-session f32 kernels keep their own span
/// loops (<see cref="MatrixVector"/>), which address each row once per tile.
/// </summary>
internal readonly struct Float32Weights : IWeightDecoder
{
    private readonly float[] _floats;

    public Float32Weights(in WeightRows weights) => _floats = weights.Floats;

    public float VectorScale => 1f;

    public bool PairsBlocks => false;

    public float Get(nuint index) => _floats[(int)index];
#if NET8_0_OR_GREATER
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> LoadHalfBlock(nuint index) => Vector256.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(_floats), index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Load(nuint index) => Vector512.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(_floats), index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref byte Element(nuint index) => ref Unsafe.As<float, byte>(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_floats), index));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Load(ref byte element, nuint index) => Vector512.LoadUnsafe(ref Unsafe.As<byte, float>(ref element), index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> LoadOfPair(nuint pairStart, int block) => Load(pairStart + 16 * (nuint)block);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public nuint Address(nuint index) => Prefetch.Address(ref MemoryMarshal.GetArrayDataReference(_floats), index);

    public int StoredBytes => sizeof(float);
#endif
}
