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
    private ModelTensor(string name, TensorDType dtype, int[] shape, ReadOnlyMemory<byte> data, ArraySegment<float> floats = default)
    {
        Name = name ?? throw new ArgumentNullException(nameof(name));
        DType = dtype;
        Shape = Array.AsReadOnly(shape);
        Data = data;
        _floats = floats;
    }

    // The reader's checked f32 copy of Data (AlignedArray storage), when it made one for a model load; the weights adopt
    // it instead of decoding again. Default (no array) otherwise.
    private readonly ArraySegment<float> _floats;

    /// <summary>
    /// A tensor over data the reader has validated. <paramref name="floats"/> is its f32 values when the reader
    /// decoded them already (a model load); then <paramref name="data"/> may be the caller's memory, which is only
    /// valid during the load, or empty (a file streamed straight into the floats), so such a tensor must not outlive it.
    /// </summary>
    internal static ModelTensor Adopt(string name, TensorDType dtype, int[] shape, ReadOnlyMemory<byte> data, ArraySegment<float> floats = default) => new(name, dtype, shape, data, floats);

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

    /// <summary>Raw little-endian bytes (for q8: all block scales, then the int8 values; docs/format.md).</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>Product of the dimensions.</summary>
    public long ElementCount => TensorShape.ElementCount(Shape);

    /// <summary>
    /// Decodes the tensor into <paramref name="destination"/>, which must hold exactly <see cref="ElementCount"/>
    /// values: exact for f32 and f16, the dequantized values (int8 × block scale) for q8.
    /// </summary>
    /// <exception cref="InvalidOperationException">The tensor's data does not match its dtype and shape.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> has the wrong length.</exception>
    public void CopyTo(Span<float> destination)
    {
        if (TensorEncoding.DTypeProblem((long)DType, Shape.Count) is string problem) throw new InvalidOperationException($"tensor {Name}: {problem}");
        long bytes = TensorEncoding.DataBytes(DType, Shape);
        if (Data.Length != bytes) throw new InvalidOperationException($"tensor {Name} holds {Data.Length} bytes, not the {bytes} its {ModelFileSchema.DTypeName(DType)} shape needs");
        if (destination.Length != ElementCount) throw new ArgumentException($"destination holds {destination.Length} values; tensor {Name} has {ElementCount}", nameof(destination));
        TensorEncoding.Decode(DType, Shape, Data.Span, destination);
    }

    /// <summary>
    /// A matrix's values as f32 in storage whose first element starts a cache line (<see cref="AlignedArray"/>), for
    /// the kernels to stream: the reader's decoded copy when it made one (shared, so never written to; the reader
    /// aligns every matrix it decodes), else decoded anew.
    /// </summary>
    internal ArraySegment<float> Float32Storage()
    {
        if (_floats.Array is not null) return _floats;
        ArraySegment<float> values = AlignedArray.Create<float>(checked((int)ElementCount));
        CopyTo(values);
        return values;
    }

    /// <summary>The values as an f32 array of exactly <see cref="ElementCount"/> elements, for the vectors and small tables the model keeps as arrays.</summary>
    internal float[] Float32Values()
    {
        if (_floats.Array is null) return ToFloat32Array();
        return _floats.Offset == 0 && _floats.Count == _floats.Array.Length ? _floats.Array : _floats.AsSpan().ToArray();
    }

    /// <summary>Decodes the tensor into a new row-major array, as <see cref="CopyTo"/>.</summary>
    /// <exception cref="InvalidOperationException">The tensor's data does not match its dtype and shape.</exception>
    public float[] ToFloat32Array()
    {
        var values = new float[ElementCount];
        CopyTo(values);
        return values;
    }

    /// <summary>
    /// This tensor stored as <paramref name="dtype"/>. Matrices are re-encoded from their decoded values (f16
    /// rounded to nearest even, q8 quantized with one scale per row, see docs/format.md); vectors (biases) stay f32,
    /// so they are returned unchanged, as is a matrix already of that dtype, except a q8 one with block scales: it is
    /// quantized again per row, from its decoded values (a second rounding, so the run or an f32 file gives better weights).
    /// </summary>
    /// <exception cref="ArgumentException">A value does not fit <paramref name="dtype"/> (beyond ±65504 for f16), or the dtype is unknown.</exception>
    public ModelTensor ConvertTo(TensorDType dtype) => ConvertTo(dtype, Q8Scaling.PerRow);

    /// <summary><see cref="ConvertTo(TensorDType)"/> with q8 scaled per <paramref name="scaling"/>.</summary>
    internal ModelTensor ConvertTo(TensorDType dtype, Q8Scaling scaling)
    {
        if (TensorEncoding.DTypeProblem((long)dtype, 2) is string problem) throw new ArgumentException(problem, nameof(dtype));
        if (Shape.Count != 2 || (dtype == DType && !NeedsRowScales(scaling))) return this;
        try
        {
            return new ModelTensor(Name, dtype, Shape.ToArray(), TensorEncoding.Encode(dtype, Shape[0], Shape[1], ToFloat32Array(), scaling));
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"tensor {Name}: {e.Message}", nameof(dtype), e);
        }
    }

    // A q8 matrix asked for row scales that has more than one scale in a row.
    private bool NeedsRowScales(Q8Scaling scaling)
        => DType == TensorDType.Q8 && scaling == Q8Scaling.PerRow && !TensorEncoding.HasRowScales(Shape[0], Shape[1], Data.Span);
}
