using System.Buffers.Binary;
using System.Numerics;
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

    /// <summary>Index of the first NaN or infinity in <paramref name="data"/>, or -1 when every element is finite.</summary>
    public static int IndexOfNonFinite(ReadOnlySpan<byte> data)
    {
        if (!BitConverter.IsLittleEndian || !Vector.IsHardwareAccelerated) return IndexOfNonFiniteScalar(data);

        // A binary32 value is NaN or infinite exactly when all eight exponent bits are set.
        ReadOnlySpan<Vector<uint>> blocks = MemoryMarshal.Cast<byte, Vector<uint>>(data);
        var mask = new Vector<uint>(ExponentMask);
        int block = 0;
        while (block < blocks.Length && !Vector.EqualsAny(Vector.BitwiseAnd(blocks[block], mask), mask)) block++;

        // Finish in the first block holding a non-finite value, or in the tail after the last whole block.
        ReadOnlySpan<uint> bits = MemoryMarshal.Cast<byte, uint>(data);
        for (int i = block * Vector<uint>.Count; i < bits.Length; i++)
        {
            if ((bits[i] & ExponentMask) == ExponentMask) return i;
        }
        return -1;
    }

    /// <summary>Describes a non-finite element for error messages: NaN, +Infinity or -Infinity.</summary>
    public static string DescribeNonFinite(ReadOnlySpan<byte> data, int index)
    {
        float value = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadInt32LittleEndian(data.Slice(index * sizeof(float))));
        return float.IsNaN(value) ? "NaN" : value > 0 ? "+Infinity" : "-Infinity";
    }

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

    internal static int IndexOfNonFiniteScalar(ReadOnlySpan<byte> data)
    {
        for (int i = 0; i < data.Length / sizeof(float); i++)
        {
            if ((BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(i * sizeof(float))) & ExponentMask) == ExponentMask) return i;
        }
        return -1;
    }
}
