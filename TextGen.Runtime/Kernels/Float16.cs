using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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

    private const ushort MantissaMask = 0x03FF;
    private const int MantissaBits = 10;
    private const int MaxFiniteExponent = 30; // exponent field of the largest finite halves

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

    /// <summary>
    /// The power of two, 2^shift with shift 0..10, by which every one of <paramref name="halves"/> can be multiplied
    /// exactly and still be finite, chosen so that none stays subnormal where the largest exponent leaves room (2^10
    /// lifts the smallest subnormal, 2^-24, to the smallest normal half). 0 when none is subnormal.
    /// <para>
    /// Why: the matrix kernels read a half as a float 2^-112 times too small (<c>ToScaledSingle</c>), which makes a
    /// subnormal half a subnormal float, and Intel cores take a microcode assist of some hundred cycles for every
    /// multiply-add with a subnormal operand. One subnormal weight in a thousand (a random matrix of hidden 512 has
    /// 0.13%) made f16 steps 1.9× slower on an AVX-512 Xeon (docs/performance-history.md). Shifted halves are all
    /// normal, and the kernels scale the vector by 2^(112 − shift) instead of 2^112, which gives the same products.
    /// </para>
    /// </summary>
    public static int SubnormalFreeShift(ReadOnlySpan<ushort> halves)
    {
        int maxExponentBits = 0;
        bool subnormal = false;
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var exponentMask = new Vector<ushort>(ExponentMask);
            var mantissaMask = new Vector<ushort>(MantissaMask);
            Vector<ushort> maxExponents = Vector<ushort>.Zero, subnormals = Vector<ushort>.Zero;
            ReadOnlySpan<Vector<ushort>> vectors = MemoryMarshal.Cast<ushort, Vector<ushort>>(halves);
            foreach (Vector<ushort> h in vectors)
            {
                Vector<ushort> exponents = h & exponentMask;
                maxExponents = Vector.Max(maxExponents, exponents);
                subnormals |= Vector.Equals(exponents, Vector<ushort>.Zero) & ~Vector.Equals(h & mantissaMask, Vector<ushort>.Zero);
            }
            for (int k = 0; k < Vector<ushort>.Count; k++) maxExponentBits = Math.Max(maxExponentBits, maxExponents[k]);
            subnormal = subnormals != Vector<ushort>.Zero;
            i = vectors.Length * Vector<ushort>.Count;
        }
        for (; i < halves.Length; i++)
        {
            int exponentBits = halves[i] & ExponentMask;
            maxExponentBits = Math.Max(maxExponentBits, exponentBits);
            subnormal |= exponentBits == 0 && (halves[i] & MantissaMask) != 0;
        }
        return subnormal ? Math.Min(MantissaBits, MaxFiniteExponent - (maxExponentBits >> MantissaBits)) : 0;
    }

    /// <summary>
    /// Index of the first NaN or infinity (exponent field all ones) among <paramref name="halves"/>, or −1. The load
    /// checks every weight of an f16 file this way: one vector compare per 16 or 32 halves, then the element by
    /// element scan only within the vector that holds the first one (the per-element loop it replaces took 3 ms for
    /// the shipped model's 3.3 million halves, a quarter of its f16 load).
    /// </summary>
    public static int IndexOfNonFinite(ReadOnlySpan<ushort> halves)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var exponentMask = new Vector<ushort>(ExponentMask);
            ReadOnlySpan<Vector<ushort>> vectors = MemoryMarshal.Cast<ushort, Vector<ushort>>(halves);
            int v = 0;
            while (v < vectors.Length && !Vector.EqualsAny(vectors[v] & exponentMask, exponentMask)) v++;
            i = v * Vector<ushort>.Count;
        }
        for (; i < halves.Length; i++)
        {
            if ((halves[i] & ExponentMask) == ExponentMask) return i;
        }
        return -1;
    }

    /// <summary>
    /// Writes every one of <paramref name="source"/> times 2^<paramref name="shift"/> to <paramref name="destination"/>
    /// (of the same length, or the same span to scale in place), exactly, as <see cref="SubnormalFreeShift"/> allows:
    /// a normal half's exponent field grows by the shift, a zero stays, and a subnormal is rounded through a float,
    /// which is exact because the product is a half. Copying and scaling in one pass spares the load a pass over the
    /// weights.
    /// </summary>
    public static void ScaleByPowerOfTwo(ReadOnlySpan<ushort> source, Span<ushort> destination, int shift)
    {
        if (destination.Length != source.Length) throw new ArgumentException($"{destination.Length} halves for {source.Length}", nameof(destination));
        if (shift == 0)
        {
            source.CopyTo(destination);
            return;
        }
        if (shift < 0 || shift > MantissaBits) throw new ArgumentOutOfRangeException(nameof(shift), $"{shift} is not 0..{MantissaBits}");
        float factor = PowerOfTwo(shift);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var exponentMask = new Vector<ushort>(ExponentMask);
            var increment = new Vector<ushort>((ushort)(shift << MantissaBits));
            ReadOnlySpan<Vector<ushort>> sources = MemoryMarshal.Cast<ushort, Vector<ushort>>(source);
            Span<Vector<ushort>> destinations = MemoryMarshal.Cast<ushort, Vector<ushort>>(destination);
            for (int v = 0; v < sources.Length; v++)
            {
                Vector<ushort> h = sources[v];
                Vector<ushort> notNormal = Vector.Equals(h & exponentMask, Vector<ushort>.Zero);
                destinations[v] = Vector.ConditionalSelect(notNormal, h, h + increment);
                if (notNormal == Vector<ushort>.Zero) continue;
                // Zeros and subnormals were copied as they were: only the subnormals need their product.
                for (int k = v * Vector<ushort>.Count; k < (v + 1) * Vector<ushort>.Count; k++)
                {
                    if ((destination[k] & ExponentMask) == 0) destination[k] = FromSingle(ToSingle(destination[k]) * factor);
                }
            }
            i = sources.Length * Vector<ushort>.Count;
        }
        for (; i < source.Length; i++)
        {
            ushort h = source[i];
            destination[i] = (h & ExponentMask) != 0 ? (ushort)(h + (shift << MantissaBits)) : FromSingle(ToSingle(h) * factor);
        }
    }

    /// <summary>Columns of a block pair: the halves one 512-bit load of <see cref="InterleaveBlockPairs"/>' layout holds.</summary>
    public const int PairColumns = 32;

    /// <summary>
    /// Reorders each row's 32-column blocks in place so that 32-bit word i of a block holds column i in its low half
    /// and column 16 + i in its high half: the layout the 512-bit f16 kernel reads (<see cref="WeightRows.PairedHalves"/>).
    /// Why: widening 16 halves from file order takes a lane-crossing vpmovsxwd, and on Zen 4 the f16 kernel's products ran 1.22×
    /// faster without it (docs/performance-history.md); from this layout one load gives both 16-column blocks, each
    /// decoded by shifts within its word (<c>ToScaledSingleFromHigh</c>), in the lanes and
    /// order the file-order kernels use, so the results are the same bits. <paramref name="columns"/> must be a multiple of 32.
    /// </summary>
    public static void InterleaveBlockPairs(Span<ushort> halves, int columns)
    {
        if (columns <= 0 || columns % PairColumns != 0) throw new ArgumentException($"{columns} columns are not whole pairs of 16-column blocks", nameof(columns));
        if (halves.Length % columns != 0) throw new ArgumentException($"{halves.Length} halves are not whole rows of {columns}", nameof(halves));
#if NET8_0_OR_GREATER
        if (Vector512.IsHardwareAccelerated)
        {
            // One vpermw per pair: the shipped model's 3.3 M halves took 1.8 ms a load one half at a time.
            Vector512<short> order = Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, (short)31);
            ref short first = ref Unsafe.As<ushort, short>(ref MemoryMarshal.GetReference(halves));
            for (nuint start = 0; start < (nuint)halves.Length; start += PairColumns)
            {
                Vector512.Shuffle(Vector512.LoadUnsafe(ref first, start), order).StoreUnsafe(ref first, start);
            }
            return;
        }
#endif
        InterleaveBlockPairsScalar(halves);
    }

    /// <summary><see cref="InterleaveBlockPairs"/> one half at a time: the reference, and the path without 512-bit vectors.</summary>
    internal static void InterleaveBlockPairsScalar(Span<ushort> halves)
    {
        Span<ushort> block = stackalloc ushort[PairColumns];
        for (int start = 0; start < halves.Length; start += PairColumns)
        {
            Span<ushort> pair = halves.Slice(start, PairColumns);
            pair.CopyTo(block);
            for (int i = 0; i < PairColumns / 2; i++)
            {
                pair[2 * i] = block[i];
                pair[2 * i + 1] = block[PairColumns / 2 + i];
            }
        }
    }

    /// <summary>Where column <paramref name="column"/> of a row sits within it after <see cref="InterleaveBlockPairs"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // inside kernels' tile loops: a call there makes the JIT keep the accumulators in memory
    public static int PairedPosition(int column)
    {
        int inPair = column % PairColumns, half = PairColumns / 2;
        return column - inPair + (inPair < half ? 2 * inPair : 2 * (inPair - half) + 1);
    }

    /// <summary>2^<paramref name="exponent"/> for exponents a float holds as a normal number, exactly.</summary>
    public static float PowerOfTwo(int exponent) => BitConverter.Int32BitsToSingle((127 + exponent) << 23);

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

    // A half in a word's top 16 bits, shifted right arithmetically by 3, has its exponent and mantissa in a float's
    // places and its sign in bit 31, with sign copies in bits 30..28 and the word's low half in bits 12..0: the mask clears both.
    private const uint HighHalfMask = 0x8FFF_E000;

    /// <summary>Eight halves, each in the top 16 bits of its word, times 2^-112, exactly (as <see cref="ToScaledSingle(Vector256{int})"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ToScaledSingleFromHigh(Vector256<int> words)
        => (Vector256.ShiftRightArithmetic(words, 16 - MantissaShift) & Vector256.Create(HighHalfMask).AsInt32()).AsSingle();

    /// <summary>Sixteen halves, each in the top 16 bits of its word, times 2^-112, exactly.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ToScaledSingleFromHigh(Vector512<int> words)
        => (Vector512.ShiftRightArithmetic(words, 16 - MantissaShift) & Vector512.Create(HighHalfMask).AsInt32()).AsSingle();

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
