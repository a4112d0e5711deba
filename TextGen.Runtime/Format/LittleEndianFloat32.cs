using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace TextGen.Runtime.Format;

/// <summary>
/// The f32 tensor encoding: IEEE 754 binary32, little-endian. On little-endian machines (every platform a game
/// ships on today) the bytes already are the floats, so decoding is one copy; the scalar twins keep big-endian
/// hosts correct and serve as the reference the fast paths are tested against.
/// </summary>
internal static class LittleEndianFloat32
{
    private const uint ExponentMask = 0x7F80_0000;

    /// <summary>Decodes <paramref name="source"/> (4 bytes per element) into <paramref name="destination"/>.</summary>
    public static void Decode(ReadOnlySpan<byte> source, Span<float> destination)
    {
        if (BitConverter.IsLittleEndian) MemoryMarshal.Cast<byte, float>(source).CopyTo(destination);
        else DecodeScalar(source, destination);
    }

    /// <summary>Encodes <paramref name="source"/> into <paramref name="destination"/> (4 bytes per element).</summary>
    public static void Encode(ReadOnlySpan<float> source, Span<byte> destination)
    {
        if (BitConverter.IsLittleEndian) MemoryMarshal.AsBytes(source).CopyTo(destination);
        else EncodeScalar(source, destination);
    }

    /// <summary>Index of the first NaN or infinity in <paramref name="data"/> (4 bytes per element), or -1 when every element is finite.</summary>
    public static int IndexOfNonFinite(ReadOnlySpan<byte> data)
        => BitConverter.IsLittleEndian ? IndexOfNonFiniteBits(MemoryMarshal.Cast<byte, uint>(data)) : IndexOfNonFiniteScalar(data);

    /// <summary>Index of the first NaN or infinity in <paramref name="values"/>, or -1 when every value is finite.</summary>
    public static int IndexOfNonFinite(ReadOnlySpan<float> values) => IndexOfNonFiniteBits(MemoryMarshal.Cast<float, uint>(values));

    /// <summary>
    /// Decodes <paramref name="source"/> (4 bytes per element) into <paramref name="destination"/> and returns the
    /// index of the first NaN or infinity, or -1 when every element is finite. One pass for the load: each chunk is
    /// checked right after it is copied, while it is still in the cache, and the copy is what gets checked, so the
    /// values kept are the values checked.
    /// </summary>
    public static int DecodeFinite(ReadOnlySpan<byte> source, Span<float> destination)
    {
        if (!BitConverter.IsLittleEndian) return DecodeFiniteScalar(source, destination);
        for (int start = 0; start < destination.Length; start += DecodeChunkFloats)
        {
            Span<float> chunk = destination.Slice(start, Math.Min(DecodeChunkFloats, destination.Length - start));
            Decode(source.Slice(start * sizeof(float), chunk.Length * sizeof(float)), chunk);
            int index = IndexOfNonFinite(chunk);
            if (index >= 0) return start + index;
        }
        return -1;
    }

    /// <summary>16 KiB: a chunk and its source stay in the L1 and L2 caches between the copy and the check.</summary>
    internal const int DecodeChunkFloats = 4096;

    // Optimized at first call: a load calls this for every 16 KiB, and the unoptimized loop made DecodeFinite of the
    // shipped model's 13.3 MB take 6-8 ms instead of 1.4-1.9 (Zen 3) until the tiered JIT replaced it, several loads later.
#if NET8_0_OR_GREATER
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
#endif
    private static int IndexOfNonFiniteBits(ReadOnlySpan<uint> bits)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            // A binary32 value is NaN or infinite exactly when all eight exponent bits are set.
            ReadOnlySpan<Vector<uint>> blocks = MemoryMarshal.Cast<uint, Vector<uint>>(bits);
            var mask = new Vector<uint>(ExponentMask);
            int block = 0;
            while (block < blocks.Length && !Vector.EqualsAny(Vector.BitwiseAnd(blocks[block], mask), mask)) block++;
            i = block * Vector<uint>.Count;
        }

        // Finish in the first block holding a non-finite value, or in the tail after the last whole block.
        for (; i < bits.Length; i++)
        {
            if ((bits[i] & ExponentMask) == ExponentMask) return i;
        }
        return -1;
    }

    /// <summary>Describes a non-finite element for error messages: NaN, +Infinity or -Infinity.</summary>
    public static string DescribeNonFinite(ReadOnlySpan<byte> data, int index)
        => DescribeNonFinite(BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadInt32LittleEndian(data.Slice(index * sizeof(float)))));

    /// <summary>Describes a non-finite value for error messages: NaN, +Infinity or -Infinity.</summary>
    public static string DescribeNonFinite(float value) => float.IsNaN(value) ? "NaN" : value > 0 ? "+Infinity" : "-Infinity";

    internal static void DecodeScalar(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadInt32LittleEndian(source.Slice(i * sizeof(float))));
        }
    }

    internal static void EncodeScalar(ReadOnlySpan<float> source, Span<byte> destination)
    {
        for (int i = 0; i < source.Length; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(destination.Slice(i * sizeof(float)), BitConverter.SingleToInt32Bits(source[i]));
        }
    }

    internal static int DecodeFiniteScalar(ReadOnlySpan<byte> source, Span<float> destination)
    {
        DecodeScalar(source, destination);
        for (int i = 0; i < destination.Length; i++)
        {
            if (float.IsNaN(destination[i]) || float.IsInfinity(destination[i])) return i;
        }
        return -1;
    }

    internal static int IndexOfNonFiniteScalar(ReadOnlySpan<byte> data)
    {
        for (int i = 0; i < data.Length / sizeof(float); i++)
        {
            if ((BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(i * sizeof(float))) & ExponentMask) == ExponentMask) return i;
        }
        return -1;
    }
}
