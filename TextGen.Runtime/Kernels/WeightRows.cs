using System.Runtime.InteropServices;
using TextGen.Runtime.Format;

namespace TextGen.Runtime.Kernels;

/// <summary>
/// Consecutive rows of a weight matrix kept in its file dtype, so the kernels read 4, 2 or ~1.1 bytes per weight
/// (f32, f16, q8): a step is bound by the bytes it streams, and decoding to f32 at load would throw that away.
/// Exactly one of the storage arrays is in use; the struct is a view (first row, row count) into it. The matrix
/// starts at <see cref="Origin"/> in that array, on a cache line when it was loaded (<see cref="AlignedArray"/>).
/// </summary>
internal readonly struct WeightRows
{
    private WeightRows(TensorDType dtype, int origin, int firstRow, int rows, int columns, float[] floats, ushort[] halves, sbyte[] quants, float[] scales, Q8Layout q8Layout = Q8Layout.FileOrder, bool symmetricQuants = false, int halfShift = 0, LanePanel.Slot? panelSlot = null, bool pairedHalves = false, bool rowScaledQuants = false)
    {
        RowScaledQuants = rowScaledQuants;
        Stride = rowScaledQuants ? RowQ8MatrixVector.RowStride(columns) : columns;
        _panelSlot = panelSlot;
        PairedHalves = pairedHalves;
        Origin = origin;
        HalfShift = halfShift;
        Q8Layout = q8Layout;
        SymmetricQuants = symmetricQuants;
        DType = dtype;
        FirstRow = firstRow;
        Rows = rows;
        Columns = columns;
        Floats = floats;
        Halves = halves;
        Quants = quants;
        Scales = scales;
    }

    private readonly LanePanel.Slot? _panelSlot; // f32 only: the batch layout's copy, shared by the matrix's views

    /// <summary>No rows: a layer input whose term comes from the model's input table.</summary>
    public static WeightRows Empty { get; } = FromFloats(Array.Empty<float>(), 0, 0);

    public TensorDType DType { get; }

    public int Origin { get; }     // index of the matrix's element (0, 0) in Floats, Halves or Quants

    public int FirstRow { get; }   // of the whole matrix, where this view starts

    public int Rows { get; }

    public int Columns { get; }

    public float[] Floats { get; }  // (all rows, Columns) f32 from Origin; empty unless DType is F32

    public ushort[] Halves { get; } // (all rows, Columns) binary16 bits from Origin, each value times 2^HalfShift, in PairedHalves' order; empty unless F16

    /// <summary>
    /// f16: the stored halves are the file's times 2^HalfShift, so that none is subnormal (<see cref="Float16.SubnormalFreeShift"/>);
    /// 0 when the file's had none.
    /// </summary>
    public int HalfShift { get; }

    /// <summary>
    /// f16: each row's 32-column blocks are kept as <see cref="Float16.InterleaveBlockPairs"/> arranges them (column i and
    /// 16 + i in one 32-bit word), the 512-bit kernel's layout; false: file order. Only where a row is whole pairs of blocks.
    /// </summary>
    public bool PairedHalves { get; }

    /// <summary>2^-<see cref="HalfShift"/>: what a stored half is multiplied by to give the file's value, exactly.</summary>
    public float HalfValueScale => Float16.PowerOfTwo(-HalfShift);

    public int Stride { get; }     // elements from one row's start to the next: Columns, except for RowScaledQuants

    public sbyte[] Quants { get; }  // (all rows, Stride) int8 from Origin; empty unless Q8

    public float[] Scales { get; }  // (all rows, ceil(Columns / 32)) q8 block scales, or (all rows) with RowScaledQuants; empty unless Q8

    /// <summary>
    /// q8 with one scale per row, kept for <see cref="RowQ8MatrixVector"/>: each quant plus 128 as an unsigned byte (the
    /// kernel's vpmaddubsw operand), rows padded with zero weights to whole 64-byte <see cref="Stride"/>s, one scale per row.
    /// </summary>
    public bool RowScaledQuants { get; }

    /// <summary>Where q8 quants are kept within their row, for the kernel that reads them.</summary>
    public Q8Layout Q8Layout { get; }

    /// <summary>No q8 quant is −128, so every quant's negation is a quant: the AVX2 kernel may move signs onto the weights.</summary>
    public bool SymmetricQuants { get; }

    /// <summary>q8 scales per row.</summary>
    public int BlocksPerRow => TensorEncoding.Q8BlocksPerRow(Columns);

    /// <summary>Bytes a kernel reads to multiply by these rows, as kept in memory: 4, 2 or 1 per weight, plus q8's scales.</summary>
    public long StoredBytes => DType switch
    {
        TensorDType.F16 => 2L * Rows * Columns,
        TensorDType.Q8 when RowScaledQuants => (long)Rows * Stride + 4L * Rows,
        TensorDType.Q8 => (long)Rows * Columns + 4L * Rows * BlocksPerRow,
        _ => 4L * Rows * Columns,
    };

    /// <summary>An f32 matrix over <paramref name="values"/> (not copied).</summary>
    public static WeightRows FromFloats(ArraySegment<float> values, int rows, int columns)
        => new(TensorDType.F32, values.Offset, 0, rows, columns, values.Array ?? Array.Empty<float>(), Array.Empty<ushort>(), Array.Empty<sbyte>(), Array.Empty<float>(), panelSlot: new LanePanel.Slot());

    /// <summary>
    /// The matrix of a validated 2-D tensor, in the tensor's dtype; q8 quants in <paramref name="q8Layout"/>, or row-scaled
    /// (<see cref="RowScaledQuants"/>) with <paramref name="rowScaledQ8"/>, which needs <see cref="TensorEncoding.HasRowScales"/>;
    /// f16 halves paired (<see cref="PairedHalves"/>) where <paramref name="pairHalves"/> says so and the rows are whole pairs of blocks.
    /// </summary>
    public static WeightRows FromTensor(ModelTensor tensor, Q8Layout q8Layout = Q8Layout.FileOrder, bool pairHalves = false, bool rowScaledQ8 = false)
    {
        int rows = tensor.Shape[0], columns = tensor.Shape[1];
        ReadOnlySpan<byte> data = tensor.Data.Span;
        switch (tensor.DType)
        {
            case TensorDType.F16:
                ArraySegment<ushort> halves = AlignedArray.Create<ushort>(data.Length / 2);
                // The file's halves, scaled as they are copied.
                ReadOnlySpan<ushort> fileHalves = TensorEncoding.HostOrderHalves(data);
                int shift = Float16.SubnormalFreeShift(fileHalves);
                Float16.ScaleByPowerOfTwo(fileHalves, halves, shift);
                bool paired = pairHalves && columns > 0 && columns % Float16.PairColumns == 0;
                if (paired) Float16.InterleaveBlockPairs(halves, columns);
                return new(TensorDType.F16, halves.Offset, 0, rows, columns, Array.Empty<float>(), halves.Array!, Array.Empty<sbyte>(), Array.Empty<float>(), halfShift: shift, pairedHalves: paired);
            case TensorDType.Q8 when rowScaledQ8:
                if (!TensorEncoding.HasRowScales(rows, columns, data)) throw new ArgumentException($"{tensor.Name} has more than one scale in a row", nameof(tensor));
                // Each row's first block scale is the row's: only those are decoded.
                int rowScaleBytes = sizeof(float) * TensorEncoding.Q8BlocksPerRow(columns);
                var rowScales = new float[rows];
                for (int r = 0; r < rows && columns > 0; r++) LittleEndianFloat32.Decode(data.Slice(r * rowScaleBytes, sizeof(float)), rowScales.AsSpan(r, 1));
                ArraySegment<sbyte> biased = AlignedArray.Create<sbyte>(rows * RowQ8MatrixVector.RowStride(columns));
                RowQ8MatrixVector.Arrange(MemoryMarshal.Cast<byte, sbyte>(data.Slice(rows * rowScaleBytes)), rows, columns, biased);
                return new(TensorDType.Q8, biased.Offset, 0, rows, columns, Array.Empty<float>(), Array.Empty<ushort>(), biased.Array!, rowScales, rowScaledQuants: true);
            case TensorDType.Q8:
                var scales = new float[TensorEncoding.Q8ScaleCount(rows, columns)];
                LittleEndianFloat32.Decode(data.Slice(0, scales.Length * sizeof(float)), scales);
                ReadOnlySpan<sbyte> fileQuants = MemoryMarshal.Cast<byte, sbyte>(data.Slice(scales.Length * sizeof(float)));
                ArraySegment<sbyte> quants = AlignedArray.Create<sbyte>(fileQuants.Length);
                Q8MatrixVector.Arrange(q8Layout, fileQuants, rows, columns, quants);
                bool symmetric = fileQuants.IndexOf(sbyte.MinValue) < 0;
                return new(TensorDType.Q8, quants.Offset, 0, rows, columns, Array.Empty<float>(), Array.Empty<ushort>(), quants.Array!, scales, q8Layout, symmetric);
            default:
                return FromFloats(tensor.Float32Storage(), rows, columns);
        }
    }

    /// <summary>Rows <paramref name="first"/>.. of this view, <paramref name="count"/> of them; <see cref="Empty"/> slices to itself.</summary>
    public WeightRows Slice(int first, int count)
    {
        // A GRU slices its input weights by gate even when an input-table row replaces them.
        if (Rows == 0 && Columns == 0) return this;
        if ((uint)first > (uint)Rows || (uint)count > (uint)(Rows - first)) throw new ArgumentOutOfRangeException(nameof(count), $"rows {first}..{first + count} of {Rows}");
        return new(DType, Origin, FirstRow + first, count, Columns, Floats, Halves, Quants, Scales, Q8Layout, SymmetricQuants, HalfShift, _panelSlot, PairedHalves, RowScaledQuants);
    }

    /// <summary>Rows <paramref name="first"/> to the end.</summary>
    public WeightRows Slice(int first) => Slice(first, Rows - first);

    /// <summary>The whole matrix's <see cref="LanePanel"/> once <see cref="PrepareLanePanel"/> has made it; null before, and for f16 and q8.</summary>
    public LanePanel? Panel => _panelSlot?.Panel;

    /// <summary>Makes the whole f32 matrix's <see cref="LanePanel"/> (once; every view shares it); nothing for f16, q8 or an empty matrix.</summary>
    public void PrepareLanePanel()
    {
        if (DType == TensorDType.F32 && FirstRow == 0) _panelSlot?.Fill(this);
    }

    /// <summary>Where row <paramref name="row"/> of this view starts in the storage array (Floats, Halves or Quants).</summary>
    public int ElementStart(int row) => Origin + (FirstRow + row) * Stride;

    /// <summary>Where row <paramref name="row"/> of this view starts in Scales (q8).</summary>
    public int ScaleStart(int row) => (FirstRow + row) * (RowScaledQuants ? 1 : BlocksPerRow);

    /// <summary>The f32 elements of this view.</summary>
    public ReadOnlySpan<float> FloatSpan => DType == TensorDType.F32 ? Floats.AsSpan(ElementStart(0), Rows * Columns) : default;

    /// <summary>The binary16 elements of this view as stored: the file's times 2^<see cref="HalfShift"/>, in <see cref="PairedHalves"/>' layout.</summary>
    public ReadOnlySpan<ushort> HalfSpan => DType == TensorDType.F16 ? Halves.AsSpan(ElementStart(0), Rows * Columns) : default;


    /// <summary>The int8 elements of this view as kept: in its layout, or biased and padded (<see cref="RowScaledQuants"/>).</summary>
    public ReadOnlySpan<sbyte> QuantSpan => DType == TensorDType.Q8 ? Quants.AsSpan(ElementStart(0), Rows * Stride) : default;

    /// <summary>Element (row, column) of this view as float (q8: dequantized), the way every kernel path sees it.</summary>
    public float this[int row, int column]
    {
        get
        {
            int start = ElementStart(row);
            return DType switch
            {
                TensorDType.F16 => Float16.ToSingle(Halves[start + (PairedHalves ? Float16.PairedPosition(column) : column)]) * HalfValueScale,
                TensorDType.Q8 when RowScaledQuants => RowQ8MatrixVector.Unbiased(Quants[start + column]) * Scales[ScaleStart(row)],
                TensorDType.Q8 => Quants[start + Q8MatrixVector.StoredColumn(column, Columns, Q8Layout)] * Scales[ScaleStart(row) + column / TensorEncoding.Q8BlockSize],
                _ => Floats[start + column],
            };
        }
    }
}
