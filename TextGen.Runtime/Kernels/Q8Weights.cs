using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TextGen.Runtime.Format;
#if NET8_0_OR_GREATER
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
#endif

namespace TextGen.Runtime.Kernels;

/// <summary>
/// q8 weights: a load reads one byte per weight, sign-extends to int32, converts exactly to float and multiplies by
/// the block's scale, one rounding, the same as the scalar <c>q * scale</c>. A load of 8 or 16 never crosses a
/// 32-element block, so one broadcast scale serves it.
/// </summary>
internal readonly struct Q8Weights : IWeightDecoder
{
    private const int BlockShift = 5; // log2 of TensorEncoding.Q8BlockSize

    private readonly sbyte[] _quants;
    private readonly float[] _scales;

    public Q8Weights(in WeightRows weights)
    {
        _quants = weights.Quants;
        _scales = weights.Scales;
    }

    public float Get(nuint rowStart, nuint scaleStart, int column)
        => _quants[(int)rowStart + column] * _scales[(int)scaleStart + column / TensorEncoding.Q8BlockSize];
#if NET8_0_OR_GREATER
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Load(nuint rowStart, nuint scaleStart, nuint column, out Vector256<float> low, out Vector256<float> high)
    {
        // Two 8-byte loads, each sign-extended straight to eight int32 (vpmovsxbd); one scale broadcast serves both.
        ref byte first = ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_quants), (nint)(rowStart + column)));
        Vector256<float> scale = Vector256.Create(Scale(scaleStart, column));
        low = Vector256.ConvertToSingle(Widen(Unsafe.ReadUnaligned<long>(ref first))) * scale;
        high = Vector256.ConvertToSingle(Widen(Unsafe.ReadUnaligned<long>(ref Unsafe.Add(ref first, 8)))) * scale;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Load(nuint rowStart, nuint scaleStart, nuint column)
    {
        Vector128<sbyte> bytes = Vector128.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(_quants), rowStart + column);
        Vector512<int> ints;
        if (Avx512F.IsSupported)
        {
            ints = Avx512F.ConvertToVector512Int32(bytes);
        }
        else
        {
            Vector128<short> low = Vector128.WidenLower(bytes), high = Vector128.WidenUpper(bytes);
            ints = Vector512.Create(Vector256.Create(Vector128.WidenLower(low), Vector128.WidenUpper(low)), Vector256.Create(Vector128.WidenLower(high), Vector128.WidenUpper(high)));
        }
        return Vector512.ConvertToSingle(ints) * Vector512.Create(Scale(scaleStart, column));
    }

    /// <summary>Eight int8 packed in a long, sign-extended to int32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Widen(long packed)
    {
        Vector128<sbyte> bytes = Vector128.CreateScalarUnsafe(packed).AsSByte();
        return Avx2.IsSupported ? Avx2.ConvertToVector256Int32(bytes) : Vector256.Create(Vector128.WidenLower(Vector128.WidenLower(bytes)), Vector128.WidenUpper(Vector128.WidenLower(bytes)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private float Scale(nuint scaleStart, nuint column) => Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_scales), (nint)(scaleStart + (column >> BlockShift)));
#endif
}
