namespace TextGen.Runtime.Format;

/// <summary>
/// One named tensor of a weight file: dtype, row-major shape and its raw little-endian bytes as stored.
/// </summary>
public sealed class ModelTensor
{
    /// <summary>Creates a tensor from raw bytes already in the file encoding of <paramref name="dtype"/>.</summary>
    public ModelTensor(string name, TensorDType dtype, IReadOnlyList<int> shape, ReadOnlyMemory<byte> data)
    {
        Name = name ?? throw new ArgumentNullException(nameof(name));
        DType = dtype;
        Shape = shape?.ToArray() ?? throw new ArgumentNullException(nameof(shape));
        Data = data;
    }

    /// <summary>Creates an f32 tensor from values (copied).</summary>
    public static ModelTensor FromFloat32(string name, IReadOnlyList<int> shape, ReadOnlySpan<float> values)
    {
        var bytes = new byte[checked(values.Length * sizeof(float))];
        for (int i = 0; i < values.Length; i++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(i * 4), BitConverter.SingleToInt32Bits(values[i]));
        }
        return new ModelTensor(name, TensorDType.F32, shape, bytes);
    }

    /// <summary>PyTorch <c>state_dict</c> name, e.g. <c>rnn.weight_hh_l0</c>.</summary>
    public string Name { get; }

    /// <summary>Element encoding.</summary>
    public TensorDType DType { get; }

    /// <summary>Dimensions, outermost first.</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>Raw little-endian element bytes (for q8: the layout documented in docs/format.md).</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>Product of the dimensions.</summary>
    public long ElementCount => TensorShape.ElementCount(Shape);
}
