using System.Runtime.CompilerServices;
#if NET8_0_OR_GREATER
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
#endif

namespace TextGen.Runtime.Kernels;

/// <summary>
/// IEEE 754 binary16 ↔ binary32 on raw bits. netstandard2.1 has no <c>System.Half</c> and .NET 8 exposes no F16C
/// intrinsics, so the kernels widen halves with integer vector operations: the half's exponent and mantissa shifted
/// into a float's bit positions read as a float 2^-112 times too small, for normal and subnormal halves alike, and one
/// exact multiplication by 2^112 fixes the scale. The matrix kernels skip that multiplication per weight and scale the
/// vector by 2^112 once instead (<c>ToScaledSingle</c>). Only finite halves occur (the file
/// reader rejects the others).
/// </summary>
internal static class Float16
{
    private const uint SignMask = 0x8000;
    private const uint MagnitudeMask = 0x7FFF;
    private const int MantissaShift = 13;   // 23 float mantissa bits − 10 half mantissa bits

    /// <summary>2^112 = 2^(127 − 15): what a half's bits moved into a float's places are too small by.</summary>
    public const float ExponentRebias = 5.192296858534828e33f;

    /// <summary>Exponent bits of a half: all set means infinity or NaN.</summary>
    public const ushort ExponentMask = 0x7C00;

    /// <summary>The float equal to the finite half <paramref name="bits"/>: the scalar reference of the vector conversions.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToSingle(ushort bits)
    {
        float magnitude = BitConverter.Int32BitsToSingle((int)((bits & MagnitudeMask) << MantissaShift)) * ExponentRebias;
        return BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(magnitude) | (int)((bits & SignMask) << 16));
    }

    /// <summary>
    /// The half nearest to <paramref name="value"/>, ties to even (IEEE's default rounding, what <c>(Half)value</c>
    /// does); values beyond the largest half (65504) round to infinity, which the caller must refuse.
    /// </summary>
    public static ushort FromSingle(float value)
    {
        uint bits = (uint)BitConverter.SingleToInt32Bits(value);
        uint sign = (bits >> 16) & SignMask;
        uint magnitude = bits & 0x7FFF_FFFF;
        if (magnitude >= 0x7F80_0000) return (ushort)(sign | ExponentMask | (magnitude > 0x7F80_0000 ? 0x200u : 0u));
        if (magnitude >= 0x4780_0000) return (ushort)(sign | ExponentMask); // ≥ 65536: beyond rounding range
        int exponent = (int)(magnitude >> 23) - 127 + 15;
        if (exponent <= 0)
        {
            // Subnormal half (or zero): the float's value in units of 2^-24, rounded to nearest even.
            if (exponent < -10) return (ushort)sign;
            uint mantissa = (magnitude & 0x7F_FFFF) | 0x80_0000;
            int shift = 14 - exponent;
            uint half = mantissa >> shift;
            uint rest = mantissa & ((1u << shift) - 1);
            uint midpoint = 1u << (shift - 1);
            if (rest > midpoint || (rest == midpoint && (half & 1) != 0)) half++;
            return (ushort)(sign | half);
        }
        uint rounded = ((uint)exponent << 10) | ((magnitude >> MantissaShift) & 0x3FF);
        uint dropped = magnitude & 0x1FFF;
        // A carry out of the mantissa correctly bumps the exponent, up to infinity past 65504.
        if (dropped > 0x1000 || (dropped == 0x1000 && (rounded & 1) != 0)) rounded++;
        return (ushort)(sign | rounded);
    }

#if NET8_0_OR_GREATER
    // The vector form needs one shift, one mask and one multiply: a half sign-extended to 32 bits and shifted left by
    // 13 has its exponent and mantissa in a float's places and its sign in bit 31 (bits 30..28 hold sign copies,
    // which the mask clears); multiplying by 2^112 keeps the sign, so no separate sign handling is needed.
    private const uint SignedLayoutMask = 0x8FFF_FFFF;

    /// <summary>Eight halves (sign-extended to 32 bits each) to floats, exactly as <see cref="ToSingle(ushort)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ToSingle(Vector256<int> signExtended) => ToScaledSingle(signExtended) * Vector256.Create(ExponentRebias);

    /// <summary>Sixteen halves (sign-extended to 32 bits each) to floats, exactly as <see cref="ToSingle(ushort)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ToSingle(Vector512<int> signExtended) => ToScaledSingle(signExtended) * Vector512.Create(ExponentRebias);

    /// <summary>
    /// Eight halves times 2^-112, exactly (the smallest, 2^-24 · 2^-112, is still a float subnormal): a product with a
    /// vector element scaled by <see cref="ExponentRebias"/> is the same real number as the half's product with the
    /// element, so it rounds to the same float, fused or not.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ToScaledSingle(Vector256<int> signExtended)
        => (Vector256.ShiftLeft(signExtended, MantissaShift) & Vector256.Create(SignedLayoutMask).AsInt32()).AsSingle();

    /// <summary>Sixteen halves times 2^-112, exactly.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ToScaledSingle(Vector512<int> signExtended)
        => (Vector512.ShiftLeft(signExtended, MantissaShift) & Vector512.Create(SignedLayoutMask).AsInt32()).AsSingle();

    /// <summary>Sign-extends eight halves: one <c>vpmovsxwd</c> on AVX2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Widen(Vector128<short> halves)
        => Avx2.IsSupported ? Avx2.ConvertToVector256Int32(halves) : Vector256.Create(Vector128.WidenLower(halves), Vector128.WidenUpper(halves));

    /// <summary>Sign-extends sixteen halves: one <c>vpmovsxwd</c> on AVX-512.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Widen(Vector256<short> halves)
        => Avx512F.IsSupported ? Avx512F.ConvertToVector512Int32(halves) : Vector512.Create(Widen(halves.GetLower()), Widen(halves.GetUpper()));
#endif
}
