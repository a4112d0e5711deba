using System.Buffers.Binary;
using System.Runtime.InteropServices;
using TextGen.Runtime.Kernels;

namespace TextGen.Runtime.Format;

/// <summary>
/// The byte layouts of the three dtypes (docs/format.md, "Tensor dtypes"): how many bytes a shape needs, which values
/// are valid, and the conversions between them. f32 and f16 are plain little-endian element arrays. q8 is
/// <c>[scales][values]</c>: one f32 scale per block of <see cref="Q8BlockSize"/> consecutive elements of a row (the
/// last block of a row is shorter when the row length is not a multiple of 32), all rows' scales first, then the
/// int8 values row-major; element (r, c) is <c>values[r, c] * scales[r, c / 32]</c>.
/// </summary>
internal static class TensorEncoding
{
    /// <summary>
    /// Elements sharing one q8 scale. Per-row scales let one large weight flatten a whole 512-long row onto a few
    /// int8 steps; 32-element blocks keep the step near each block's own range for 1/8 byte of scale per weight, and
    /// 32 is a multiple of the 16-lane kernel block, so a vector load never straddles two scales.
    /// </summary>
    public const int Q8BlockSize = 32;

    /// <summary>Largest q8 magnitude: symmetric, so the scale is max|w| / 127 and −128 is never produced.</summary>
    private const int Q8Max = 127;

    /// <summary>
    /// Why a tensor of rank <paramref name="rank"/> cannot have dtype code <paramref name="code"/>, or null when it can.
    /// <paramref name="matrixDType"/> is the dtype of the file's earlier matrices, if any: all matrices share one, so
    /// a layer's two products run in one kernel.
    /// </summary>
    public static string? DTypeProblem(long code, int rank, TensorDType? matrixDType = null) => code switch
    {
        _ when rank == 2 && matrixDType is TensorDType shared && code != (long)shared && code is >= 0 and <= 2 =>
            $"dtype {ModelFileSchema.DTypeName((TensorDType)code)} differs from the earlier matrices' {ModelFileSchema.DTypeName(shared)}; all matrices of a file have one dtype",
        (long)TensorDType.F32 => null,
        (long)TensorDType.F16 or (long)TensorDType.Q8 when rank != 2 =>
            $"dtype {ModelFileSchema.DTypeName((TensorDType)code)} is for matrices; vectors (biases) are always f32",
        (long)TensorDType.F16 or (long)TensorDType.Q8 => null,
        _ => $"unknown dtype code {code} (this runtime reads f32 = 0, f16 = 1 and q8 = 2)",
    };

    /// <summary>Bytes the data of a tensor of <paramref name="dtype"/> and <paramref name="shape"/> occupies.</summary>
    public static long DataBytes(TensorDType dtype, IReadOnlyList<int> shape)
    {
        long elements = TensorShape.ElementCount(shape);
        return dtype switch
        {
            TensorDType.F16 => 2 * elements,
            TensorDType.Q8 => elements + sizeof(float) * Q8ScaleCount(shape[0], shape[1]),
            _ => sizeof(float) * elements,
        };
    }

    /// <summary>Scales of a q8 matrix: one per started block of 32 in every row.</summary>
    public static long Q8ScaleCount(int rows, int columns) => (long)rows * Q8BlocksPerRow(columns);

    /// <summary>Blocks of 32 (the last possibly shorter) in a row of <paramref name="columns"/>.</summary>
    public static int Q8BlocksPerRow(int columns) => (columns + Q8BlockSize - 1) / Q8BlockSize;

    /// <summary>
    /// The first non-finite value of <paramref name="data"/> (an f32 or f16 element, or a q8 scale, which must also
    /// not be negative) as a message, with its byte offset in <paramref name="data"/>; null when all are valid.
    /// </summary>
    public static string? ValueProblem(string name, TensorDType dtype, IReadOnlyList<int> shape, ReadOnlySpan<byte> data, out long offset)
    {
        offset = 0;
        switch (dtype)
        {
            case TensorDType.F16:
                ReadOnlySpan<ushort> halves = HostOrderHalves(data);
                int half = Float16.IndexOfNonFinite(halves);
                if (half < 0) return null;
                ushort bits = halves[half];
                offset = 2L * half;
                return $"element {half} of {name} is {((bits & 0x3FF) != 0 ? "NaN" : (bits & 0x8000) != 0 ? "-Infinity" : "+Infinity")}; weights must be finite";
            case TensorDType.Q8:
                ReadOnlySpan<byte> scales = data.Slice(0, (int)(sizeof(float) * Q8ScaleCount(shape[0], shape[1])));
                int nonFinite = LittleEndianFloat32.IndexOfNonFinite(scales);
                if (nonFinite >= 0)
                {
                    offset = (long)nonFinite * sizeof(float);
                    return $"scale {nonFinite} of {name} is {LittleEndianFloat32.DescribeNonFinite(scales, nonFinite)}; q8 scales must be finite";
                }
                for (int i = 0; i < scales.Length / sizeof(float); i++)
                {
                    if (BinaryPrimitives.ReadInt32LittleEndian(scales.Slice(i * sizeof(float))) < 0)
                    {
                        offset = (long)i * sizeof(float);
                        return $"scale {i} of {name} is negative; q8 scales are max|w| / 127";
                    }
                }
                return null;
            default:
                int index = LittleEndianFloat32.IndexOfNonFinite(data);
                if (index < 0) return null;
                offset = (long)index * sizeof(float);
                return NonFiniteElementProblem(name, index, LittleEndianFloat32.DescribeNonFinite(data, index));
        }
    }

    /// <summary>The message for f32 element <paramref name="index"/> of tensor <paramref name="name"/> being NaN or infinite (<paramref name="value"/>).</summary>
    public static string NonFiniteElementProblem(string name, int index, string value) => $"element {index} of {name} is {value}; weights must be finite";

    /// <summary>Decodes data of <paramref name="dtype"/> into floats: exact for f32 and f16, the dequantized values for q8.</summary>
    public static void Decode(TensorDType dtype, IReadOnlyList<int> shape, ReadOnlySpan<byte> data, Span<float> destination)
    {
        switch (dtype)
        {
            case TensorDType.F16:
                for (int i = 0; i < destination.Length; i++) destination[i] = Float16.ToSingle(BinaryPrimitives.ReadUInt16LittleEndian(data.Slice(2 * i)));
                break;
            case TensorDType.Q8:
                int rows = shape[0], columns = shape[1], blocks = Q8BlocksPerRow(columns);
                ReadOnlySpan<byte> values = data.Slice(sizeof(float) * (int)Q8ScaleCount(rows, columns));
                for (int r = 0; r < rows; r++)
                {
                    for (int c = 0; c < columns; c++)
                    {
                        float scale = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadInt32LittleEndian(data.Slice(sizeof(float) * (r * blocks + c / Q8BlockSize))));
                        destination[r * columns + c] = (sbyte)values[r * columns + c] * scale;
                    }
                }
                break;
            default:
                LittleEndianFloat32.Decode(data, destination);
                break;
        }
    }

    /// <summary>
    /// Encodes finite <paramref name="values"/> of a (rows, columns) matrix as <paramref name="dtype"/>: f16 rounds
    /// to nearest even; q8 takes the scale of each row (<see cref="Q8Scaling.PerRow"/>, written to every block of
    /// the row) or of each block as max|w| / 127 and rounds w / scale to the nearest integer, so every element is off
    /// by at most half its scale.
    /// </summary>
    /// <exception cref="ArgumentException">A value does not fit the dtype (beyond ±65504 for f16).</exception>
    public static byte[] Encode(TensorDType dtype, int rows, int columns, ReadOnlySpan<float> values, Q8Scaling scaling = Q8Scaling.PerRow)
    {
        var shape = new[] { rows, columns };
        var data = new byte[DataBytes(dtype, shape)];
        switch (dtype)
        {
            case TensorDType.F16:
                for (int i = 0; i < values.Length; i++)
                {
                    ushort bits = Float16.FromSingle(values[i]);
                    if ((bits & Float16.ExponentMask) == Float16.ExponentMask) throw new ArgumentException($"element {i} is {values[i]}, beyond the f16 range (±65504)", nameof(values));
                    BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(2 * i), bits);
                }
                break;
            case TensorDType.Q8:
                int blocks = Q8BlocksPerRow(columns);
                Span<byte> quantized = data.AsSpan(sizeof(float) * (int)Q8ScaleCount(rows, columns));
                for (int r = 0; r < rows; r++)
                {
                    float rowScale = scaling == Q8Scaling.PerRow ? Largest(values.Slice(r * columns, columns)) / Q8Max : 0f;
                    for (int b = 0; b < blocks; b++)
                    {
                        int start = r * columns + b * Q8BlockSize, length = Math.Min(Q8BlockSize, columns - b * Q8BlockSize);
                        ReadOnlySpan<float> block = values.Slice(start, length);
                        float scale = scaling == Q8Scaling.PerRow ? rowScale : Largest(block) / Q8Max;
                        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(sizeof(float) * (r * blocks + b)), BitConverter.SingleToInt32Bits(scale));
                        for (int k = 0; k < length; k++)
                        {
                            int q = scale == 0 ? 0 : (int)Math.Round(block[k] / scale, MidpointRounding.ToEven);
                            quantized[start + k] = (byte)(sbyte)Math.Max(-Q8Max, Math.Min(Q8Max, q));
                        }
                    }
                }
                break;
            default:
                LittleEndianFloat32.Encode(values, data);
                break;
        }
        return data;
    }

    private static float Largest(ReadOnlySpan<float> values)
    {
        float largest = 0;
        foreach (float w in values) largest = Math.Max(largest, Math.Abs(w));
        return largest;
    }

    /// <summary>
    /// Whether q8 <paramref name="data"/> of a (<paramref name="rows"/>, <paramref name="columns"/>) matrix has one scale
    /// per row: every block of a row holds the same scale, bit for bit, as <see cref="Q8Scaling.PerRow"/> writes them.
    /// </summary>
    public static bool HasRowScales(int rows, int columns, ReadOnlySpan<byte> data)
    {
        int blocks = Q8BlocksPerRow(columns);
        ReadOnlySpan<int> scales = MemoryMarshal.Cast<byte, int>(data.Slice(0, sizeof(float) * (int)Q8ScaleCount(rows, columns)));
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<int> row = scales.Slice(r * blocks, blocks);
            foreach (int scale in row)
            {
                if (scale != row[0]) return false;
            }
        }
        return true;
    }

    /// <summary>
    /// f16 data as halves in host order: on little-endian hosts the data itself, read in place; on big-endian ones a
    /// swapped copy.
    /// </summary>
    public static ReadOnlySpan<ushort> HostOrderHalves(ReadOnlySpan<byte> data)
    {
        if (BitConverter.IsLittleEndian) return MemoryMarshal.Cast<byte, ushort>(data);
        var halves = new ushort[data.Length / 2];
        for (int i = 0; i < halves.Length; i++) halves[i] = BinaryPrimitives.ReadUInt16LittleEndian(data.Slice(2 * i));
        return halves;
    }
}
