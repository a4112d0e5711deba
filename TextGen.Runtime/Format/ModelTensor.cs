namespace TextGen.Runtime.Format;

/// <summary>
/// One named tensor of a weight file: dtype, row-major shape and its raw little-endian bytes as stored.
/// Immutable: the bytes are owned by the tensor.
/// </summary>
public sealed class ModelTensor
{
    /// <summary>Creates a tensor from raw bytes already in the file encoding of <paramref name="dtype"/> (copied).</summary>
    public ModelTensor(string name, TensorDType dtype, IReadOnlyList<int> shape, ReadOnlyMemory<byte> data)
        : this(name, dtype, shape?.ToArray() ?? throw new ArgumentNullException(nameof(shape)), data.ToArray())
    {
    }

    // Takes ownership of arrays and memory nobody else writes to: the reader's slices of a buffer it filled itself.
    private ModelTensor(string name, TensorDType dtype, int[] shape, ReadOnlyMemory<byte> data)
    {
        Name = name ?? throw new ArgumentNullException(nameof(name));
        DType = dtype;
        Shape = Array.AsReadOnly(shape);
        Data = data;
    }

    internal static ModelTensor Adopt(string name, TensorDType dtype, int[] shape, ReadOnlyMemory<byte> data) => new(name, dtype, shape, data);

    /// <summary>Creates an f32 tensor from values (copied).</summary>
    /// <exception cref="ArgumentException">The shape's element count is not <paramref name="values"/>' length.</exception>
    public static ModelTensor FromFloat32(string name, IReadOnlyList<int> shape, ReadOnlySpan<float> values)
    {
        if (shape is null) throw new ArgumentNullException(nameof(shape));
        int[] dims = shape.ToArray();
        if (dims.Any(d => d < 0) || TensorShape.ElementCount(dims) != values.Length)
        {
            throw new ArgumentException($"shape ({string.Join(", ", dims)}) does not hold {values.Length} values", nameof(shape));
        }
        var bytes = new byte[checked(values.Length * sizeof(float))];
        LittleEndianFloat32.Encode(values, bytes);
        return new ModelTensor(name, TensorDType.F32, dims, bytes);
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

    /// <summary>Decodes an f32 tensor into <paramref name="destination"/>, which must hold exactly <see cref="ElementCount"/> values.</summary>
    /// <exception cref="InvalidOperationException">The tensor is not f32, or its data does not match its shape.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> has the wrong length.</exception>
    public void CopyTo(Span<float> destination)
    {
        if (DType != TensorDType.F32) throw new InvalidOperationException($"tensor {Name} is {DType}, not F32");
        if (Data.Length != ElementCount * sizeof(float)) throw new InvalidOperationException($"tensor {Name} holds {Data.Length} bytes, not the {ElementCount * sizeof(float)} its shape needs");
        if (destination.Length != ElementCount) throw new ArgumentException($"destination holds {destination.Length} values; tensor {Name} has {ElementCount}", nameof(destination));
        LittleEndianFloat32.Decode(Data.Span, destination);
    }

    /// <summary>Decodes an f32 tensor into a new row-major array.</summary>
    /// <exception cref="InvalidOperationException">The tensor is not f32, or its data does not match its shape.</exception>
    public float[] ToFloat32Array()
    {
        if (DType != TensorDType.F32) throw new InvalidOperationException($"tensor {Name} is {DType}, not F32");
        var values = new float[Data.Length / sizeof(float)];
        CopyTo(values);
        return values;
    }
}
