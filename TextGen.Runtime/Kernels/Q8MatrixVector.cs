using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TextGen.Runtime.Format;
#if NET8_0_OR_GREATER
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
#endif

namespace TextGen.Runtime.Kernels;

/// <summary>
/// <see cref="MatrixVector"/> for q8 weights with block scales (files whose blocks of a row differ in scale; the
/// exporter's row-scaled files run <see cref="RowQ8MatrixVector"/>), with integer dot products (llama.cpp's q8_0 ×
/// q8_0): the vector is quantized like the weights, per 32-element block, and each block's products are summed
/// exactly in integers.
/// Decoding every weight to float (one conversion and one multiply per weight) made q8 slower than f32 on a CPU
/// without VNNI; here 32 weights cost three integer instructions per row (vpsignb, vpmaddubsw, vpmaddwd, plus a vpabsb
/// shared by a tile of rows, or per row for weights holding −128) and the float work is per block. The x64 kernels (AVX2,
/// AVX-512) are in Q8MatrixVector.X86.cs.
/// <para>The order, which every path follows in strict mode: block b of a row (x's blocks, then h's) adds to 8 float
/// lanes, lane k getting <c>(float)(Σ of the products of columns 32b+4k..32b+4k+3) × (weight scale × vector scale)</c>;
/// the lanes are reduced by <see cref="FixedOrderSum.Tree(ReadOnlySpan{float})"/>'s last three levels, then the bias
/// is added. The integer sums are exact (at most 4·128·127), so no vector width changes them: strict mode (product
/// rounded before the add) gives the same bits on every path. Fast mode fuses the multiply-add, and the 512-bit kernel
/// also keeps the two blocks of a pair in separate lanes (16 per row, added pairwise at the end), which saves it three
/// of its nine vector operations per row and pair of blocks; fast mode's bits may differ between paths, not between
/// runs.</para>
/// <para>Each path reads its own layout of a row's whole blocks (<see cref="Q8Layout"/>, chosen at load): file order
/// for the AVX2 kernel, whose vpmaddwd sums adjacent columns; pair-interleaved (<see cref="InterleavePairs"/>) for the
/// AVX-512 one, whose 16 lane sums then alternate between a pair's blocks as a 64-bit broadcast of their two scales
/// does; lane-interleaved (<see cref="InterleaveLanes"/>) for <see cref="System.Numerics.Vector{T}"/>, which has no
/// pairwise add: there column 4k+j of a block sits at 8j+k, so the four columns of lane k are the same lane of four
/// consecutive 8-element groups and element-wise adds form the lane sums. The scalar reference reads every layout.
/// The integers are the same in each, so are the bits.</para>
/// </summary>
internal static partial class Q8MatrixVector
{
    private const int BlockSize = TensorEncoding.Q8BlockSize;
    private const int Lanes = 8;
    private const int ColumnsPerLane = BlockSize / Lanes;
    private const int Q8Max = 127;

    // Vectors up to the format's largest hidden or embedding size are quantized on the stack (9 KiB each).
    private const int MaxStackColumns = ModelArchitecture.MaxHiddenSize;

    /// <summary><c>y = W1·x + W2·h + bias</c> with q8 W1 and W2; an empty x ignores W1.</summary>
    public static void MultiplyPair(KernelMode mode, in WeightRows w1, ReadOnlySpan<float> x, in WeightRows w2, ReadOnlySpan<float> h, ReadOnlySpan<float> bias, Span<float> y)
    {
        int xBlocks = TensorEncoding.Q8BlocksPerRow(x.Length), hBlocks = TensorEncoding.Q8BlocksPerRow(h.Length);
        Span<sbyte> xq = x.Length <= MaxStackColumns ? stackalloc sbyte[xBlocks * BlockSize] : new sbyte[xBlocks * BlockSize];
        Span<float> xs = x.Length <= MaxStackColumns ? stackalloc float[xBlocks] : new float[xBlocks];
        Span<sbyte> hq = h.Length <= MaxStackColumns ? stackalloc sbyte[hBlocks * BlockSize] : new sbyte[hBlocks * BlockSize];
        Span<float> hs = h.Length <= MaxStackColumns ? stackalloc float[hBlocks] : new float[hBlocks];
        Quantize(mode.Path, x, xq, xs);
        Quantize(mode.Path, h, hq, hs);
        var qx = new QuantizedVector(xq, xs);
        var qh = new QuantizedVector(hq, hs);
        // The layout the matrices in use share, if they do; a matrix beside an empty vector is not read.
        Q8Layout? layout = x.IsEmpty ? w2.Q8Layout : h.IsEmpty || w1.Q8Layout == w2.Q8Layout ? w1.Q8Layout : null;
        switch (mode.Path)
        {
#if NET8_0_OR_GREATER
            case KernelPath.Vector512 when layout == Q8Layout.PairInterleaved:
                MultiplyPairVector512(mode.Strict, Symmetric(w1, x, w2, h), w1, qx, w2, qh, bias, y);
                break;
            case KernelPath.Vector256 or KernelPath.Vector512 when Avx2.IsSupported && layout == Q8Layout.FileOrder:
                MultiplyPairVector256(mode.Strict, Symmetric(w1, x, w2, h), w1, qx, w2, qh, bias, y);
                break;
#endif
            case KernelPath.Vector when layout == Q8Layout.LaneInterleaved && VectorPathFits:
                Span<short> xLanes = x.Length <= MaxStackColumns ? stackalloc short[xBlocks * BlockSize] : new short[xBlocks * BlockSize];
                Span<short> hLanes = h.Length <= MaxStackColumns ? stackalloc short[hBlocks * BlockSize] : new short[hBlocks * BlockSize];
                WidenInterleaved(xq, xLanes);
                WidenInterleaved(hq, hLanes);
                MultiplyPairVector(w1, qx, xLanes, w2, qh, hLanes, bias, y);
                break;
            default:
                MultiplyPairScalar(w1, qx, w2, qh, bias, y);
                break;
        }
    }

    /// <summary>
    /// The <see cref="System.Numerics.Vector{T}"/> kernel needs a block to be whole vectors of bytes and its 8 lanes
    /// whole vectors of ints: 16- and 32-byte vectors (NEON, SSE, AVX2). Wider ones use the scalar order.
    /// </summary>
    private static bool VectorPathFits => Vector<sbyte>.Count is 16 or 32;

    /// <summary>Where column 4k+j (lane <paramref name="k"/>, its <paramref name="j"/>-th) of a whole block is kept in the lane-interleaved layout: 8j+k.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int LanePosition(int k, int j) => j * Lanes + k;

    /// <summary>Where column <paramref name="i"/> (0..31) of a whole block is kept in the lane-interleaved layout.</summary>
    private static int LanePosition(int i) => LanePosition(i / ColumnsPerLane, i % ColumnsPerLane);

    /// <summary>Where column <paramref name="i"/> (0..63) of two whole blocks is kept in the pair-interleaved layout: group k of block b (its columns 4k..4k+3) at group 2k+b.</summary>
    private static int PairPosition(int i)
    {
        int block = i / BlockSize, column = i % BlockSize;
        return (2 * (column / ColumnsPerLane) + block) * ColumnsPerLane + column % ColumnsPerLane;
    }

    /// <summary>
    /// Copies q8 matrix <paramref name="quants"/> (<paramref name="rows"/> × <paramref name="columns"/>, file order)
    /// into <paramref name="arranged"/> in <paramref name="layout"/>.
    /// </summary>
    internal static void Arrange(Q8Layout layout, ReadOnlySpan<sbyte> quants, int rows, int columns, Span<sbyte> arranged)
    {
        switch (layout)
        {
            case Q8Layout.LaneInterleaved:
                InterleaveLanes(quants, rows, columns, arranged);
                break;
            case Q8Layout.PairInterleaved:
                InterleavePairs(quants, rows, columns, arranged);
                break;
            default:
                quants.CopyTo(arranged);
                break;
        }
    }

    /// <summary>
    /// Copies q8 matrix <paramref name="quants"/> into <paramref name="interleaved"/> with every whole block of every
    /// row in the lane-interleaved layout; a row's short last block stays in file order.
    /// </summary>
    internal static void InterleaveLanes(ReadOnlySpan<sbyte> quants, int rows, int columns, Span<sbyte> interleaved)
    {
        int whole = columns / BlockSize * BlockSize;
        for (int r = 0; r < rows; r++)
        {
            int start = r * columns;
            for (int c = 0; c < whole; c += BlockSize)
            for (int i = 0; i < BlockSize; i++) interleaved[start + c + LanePosition(i)] = quants[start + c + i];
            quants.Slice(start + whole, columns - whole).CopyTo(interleaved.Slice(start + whole));
        }
    }

    /// <summary>
    /// Copies q8 matrix <paramref name="quants"/> into <paramref name="interleaved"/> with every two whole blocks of
    /// every row (blocks 0 and 1, 2 and 3, …) in the pair-interleaved layout; an odd last whole block and a short last
    /// block stay in file order.
    /// </summary>
    internal static void InterleavePairs(ReadOnlySpan<sbyte> quants, int rows, int columns, Span<sbyte> interleaved)
    {
        int paired = PairedColumns(columns);
        for (int r = 0; r < rows; r++)
        {
            int start = r * columns;
            for (int c = 0; c < paired; c += 2 * BlockSize) InterleavePair(quants.Slice(start + c, 2 * BlockSize), interleaved.Slice(start + c, 2 * BlockSize));
            quants.Slice(start + paired, columns - paired).CopyTo(interleaved.Slice(start + paired));
        }
    }

    /// <summary>
    /// Two whole blocks into the pair-interleaved layout: with the AVX-512 kernel's own permute where it runs (byte
    /// by byte, a warm q8 load of the shipped model took 12.6 ms, median, against 4.1), byte by byte elsewhere (tests
    /// forcing the layout).
    /// </summary>
    private static void InterleavePair(ReadOnlySpan<sbyte> pair, Span<sbyte> interleaved)
    {
#if NET8_0_OR_GREATER
        if (Vector512.IsHardwareAccelerated)
        {
            InPairOrder(Vector512.Create(pair)).CopyTo(interleaved);
            return;
        }
#endif
        for (int i = 0; i < 2 * BlockSize; i++) interleaved[PairPosition(i)] = pair[i];
    }

    /// <summary>The columns of a row that <see cref="InterleavePairs"/> moves: its whole pairs of whole blocks.</summary>
    private static int PairedColumns(int columns) => columns / (2 * BlockSize) * (2 * BlockSize);

    /// <summary>
    /// Column <paramref name="column"/> of a q8 row of <paramref name="columns"/>, as kept in <paramref name="layout"/>:
    /// where <see cref="InterleaveLanes"/> or <see cref="InterleavePairs"/> moved it, or itself where they leave it.
    /// </summary>
    internal static int StoredColumn(int column, int columns, Q8Layout layout) => layout switch
    {
        Q8Layout.LaneInterleaved when column < columns / BlockSize * BlockSize => column - column % BlockSize + LanePosition(column % BlockSize),
        Q8Layout.PairInterleaved when column < PairedColumns(columns) => column - column % (2 * BlockSize) + PairPosition(column % (2 * BlockSize)),
        _ => column,
    };

    /// <summary>
    /// Per 32-element block: scale = max|v| / 127 and q = v · (127 / max|v|) rounded half to even, padded with zeros
    /// to whole blocks. A block of zeros, or one so small that 127 / max|v| overflows, gets scale 0 and q 0.
    /// <paramref name="path"/> picks the instructions; every path gives the same bits.
    /// </summary>
    internal static void Quantize(KernelPath path, ReadOnlySpan<float> v, Span<sbyte> q, Span<float> scales)
    {
        for (int b = 0; b < scales.Length; b++)
        {
            int start = b * BlockSize, count = Math.Min(BlockSize, v.Length - start);
            ReadOnlySpan<float> block = v.Slice(start, count);
            Span<sbyte> quants = q.Slice(start, BlockSize);
#if NET8_0_OR_GREATER
            if (path is KernelPath.Vector512 && Avx512F.IsSupported && count == BlockSize)
            {
                scales[b] = QuantizeBlockAvx512(block, quants);
                continue;
            }
            if (path is KernelPath.Vector256 or KernelPath.Vector512 && Avx.IsSupported && count == BlockSize)
            {
                scales[b] = QuantizeBlockAvx(block, quants);
                continue;
            }
#endif
            float largest = 0f;
            foreach (float value in block) largest = Math.Max(largest, Math.Abs(value));
            float inverse = Q8Max / largest;
            quants.Clear();
            if (float.IsInfinity(inverse))
            {
                scales[b] = 0f;
                continue;
            }
            scales[b] = largest / Q8Max;
            for (int j = 0; j < count; j++) quants[j] = (sbyte)MathF.Round(block[j] * inverse);
        }
    }

    /// <summary>The definition of the order, one integer product at a time; every path is tested against it.</summary>
    internal static void MultiplyPairScalar(in WeightRows w1, in QuantizedVector x, in WeightRows w2, in QuantizedVector h, ReadOnlySpan<float> bias, Span<float> y)
    {
        Span<float> lanes = stackalloc float[Lanes];
        for (int r = 0; r < y.Length; r++)
        {
            lanes.Clear();
            AccumulateScalar(w1, r, x, lanes);
            AccumulateScalar(w2, r, h, lanes);
            y[r] = FixedOrderSum.Tree8(lanes) + bias[r];
        }
    }

    private static void AccumulateScalar(in WeightRows w, int row, in QuantizedVector v, Span<float> lanes)
    {
        if (v.Quants.IsEmpty) return;
        int columns = w.Columns;
        ReadOnlySpan<sbyte> quants = w.Quants.AsSpan(w.ElementStart(row), columns);
        ReadOnlySpan<float> scales = w.Scales.AsSpan(w.ScaleStart(row), w.BlocksPerRow);
        Span<int> sums = stackalloc int[Lanes];
        int paired = PairedColumns(columns);
        for (int b = 0; b < scales.Length; b++)
        {
            int start = b * BlockSize;
            ReadOnlySpan<sbyte> block = quants.Slice(start, Math.Min(BlockSize, columns - start));
            if (w.Q8Layout == Q8Layout.LaneInterleaved && block.Length == BlockSize) LaneSumsInterleaved(block, v.Quants.Slice(start, BlockSize), sums);
            else if (w.Q8Layout == Q8Layout.PairInterleaved && start < paired) LaneSumsPairInterleaved(quants.Slice(start - b % 2 * BlockSize, 2 * BlockSize), b % 2, v.Quants.Slice(start, BlockSize), sums);
            else LaneSums(block, v.Quants.Slice(start, BlockSize), sums);
            float scale = scales[b] * v.Scales[b];
            for (int k = 0; k < Lanes; k++) lanes[k] += sums[k] * scale;
        }
    }

    /// <summary>
    /// The 8 exact lane sums of one block: lane k gets the products of columns 4k..4k+3 of <paramref name="row"/>
    /// (a block, or the shorter last one) with the same elements of <paramref name="v"/>. Plain loops, no calls.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LaneSums(ReadOnlySpan<sbyte> row, ReadOnlySpan<sbyte> v, Span<int> sums)
    {
        for (int k = 0; k < Lanes; k++)
        {
            // A local sum per lane stays in a register; adding into sums[] went through memory for every product.
            int sum = 0, end = row.Length < (k + 1) * ColumnsPerLane ? row.Length : (k + 1) * ColumnsPerLane;
            for (int c = k * ColumnsPerLane; c < end; c++) sum += row[c] * v[c];
            sums[k] = sum;
        }
    }

    /// <summary><see cref="LaneSums"/> of a whole block kept lane-interleaved; <paramref name="v"/> is in file order.</summary>
    private static void LaneSumsInterleaved(ReadOnlySpan<sbyte> row, ReadOnlySpan<sbyte> v, Span<int> sums)
    {
        for (int k = 0; k < Lanes; k++)
        {
            int sum = 0;
            for (int j = 0; j < ColumnsPerLane; j++) sum += row[LanePosition(k, j)] * v[k * ColumnsPerLane + j];
            sums[k] = sum;
        }
    }

    /// <summary>
    /// <see cref="LaneSums"/> of block <paramref name="half"/> (0 or 1) of two whole blocks kept pair-interleaved
    /// (<paramref name="pair"/>); <paramref name="v"/> is that block in file order.
    /// </summary>
    private static void LaneSumsPairInterleaved(ReadOnlySpan<sbyte> pair, int half, ReadOnlySpan<sbyte> v, Span<int> sums)
    {
        for (int k = 0; k < Lanes; k++)
        {
            int sum = 0;
            for (int j = 0; j < ColumnsPerLane; j++) sum += pair[PairPosition(half * BlockSize + k * ColumnsPerLane + j)] * v[k * ColumnsPerLane + j];
            sums[k] = sum;
        }
    }

    /// <summary>
    /// <paramref name="quants"/> (whole blocks, file order) as 16-bit integers in the lane-interleaved layout, the
    /// form <see cref="MultiplyPairVector"/> multiplies the widened weights by.
    /// </summary>
    private static void WidenInterleaved(ReadOnlySpan<sbyte> quants, Span<short> lanes)
    {
        for (int c = 0; c < quants.Length; c += BlockSize)
        for (int i = 0; i < BlockSize; i++) lanes[c + LanePosition(i)] = quants[c + i];
    }

    /// <summary>
    /// <see cref="System.Numerics.Vector{T}"/> (netstandard2.1, ARM): per row and whole block, the lane-interleaved
    /// weights widen to 16 bits, multiply the widened vector exactly (at most 128·127), widen again to 32 bits, and
    /// the four groups of 8 add element-wise into the 8 lane sums; then one convert and multiply-add per block as
    /// everywhere. With 4-int vectors (NEON, SSE) lanes 0..3 and 4..7 are two vectors. The short last block of a
    /// part sums in file order one product at a time.
    /// </summary>
    private static void MultiplyPairVector(in WeightRows w1, in QuantizedVector x, ReadOnlySpan<short> xLanes, in WeightRows w2, in QuantizedVector h, ReadOnlySpan<short> hLanes, ReadOnlySpan<float> bias, Span<float> y)
    {
        Span<float> lanes = stackalloc float[Lanes];
        Span<int> tailSums = stackalloc int[Lanes];
        Span<Vector<float>> laneVectors = MemoryMarshal.Cast<float, Vector<float>>(lanes);
        for (int r = 0; r < y.Length; r++)
        {
            Vector<float> low = default, high = default; // lanes 0..7 in low when 8 wide; 0..3 and 4..7 when 4 wide
            AccumulateVector(w1, r, x, xLanes, tailSums, ref low, ref high);
            AccumulateVector(w2, r, h, hLanes, tailSums, ref low, ref high);
            laneVectors[0] = low;
            if (Vector<float>.Count == 4) laneVectors[1] = high;
            y[r] = FixedOrderSum.Tree8(lanes) + bias[r];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AccumulateVector(in WeightRows w, int row, in QuantizedVector v, ReadOnlySpan<short> vLanes, Span<int> tailSums, ref Vector<float> low, ref Vector<float> high)
    {
        if (v.Quants.IsEmpty) return;
        int columns = w.Columns, whole = columns / BlockSize;
        ReadOnlySpan<sbyte> quants = w.Quants.AsSpan(w.ElementStart(row), columns);
        ReadOnlySpan<float> scales = w.Scales.AsSpan(w.ScaleStart(row), w.BlocksPerRow);
        ReadOnlySpan<Vector<sbyte>> weights = MemoryMarshal.Cast<sbyte, Vector<sbyte>>(quants.Slice(0, whole * BlockSize));
        ReadOnlySpan<Vector<short>> vector = MemoryMarshal.Cast<short, Vector<short>>(vLanes.Slice(0, whole * BlockSize));
        int chunks = BlockSize / Vector<sbyte>.Count; // 1 or 2 byte vectors per block
        for (int b = 0; b < whole; b++)
        {
            Vector<int> lowSums = default, highSums = default;
            for (int part = b * chunks; part < (b + 1) * chunks; part++)
            {
                Vector.Widen(weights[part], out Vector<short> w0, out Vector<short> w1);
                Vector.Widen(w0 * vector[2 * part], out Vector<int> s0, out Vector<int> s1);
                Vector.Widen(w1 * vector[2 * part + 1], out Vector<int> s2, out Vector<int> s3);
                if (Vector<int>.Count == 8)
                {
                    lowSums += (s0 + s1) + (s2 + s3);
                }
                else
                {
                    lowSums += s0 + s2;
                    highSums += s1 + s3;
                }
            }
            var scale = new Vector<float>(scales[b] * v.Scales[b]);
            low += Vector.ConvertToSingle(lowSums) * scale;
            if (Vector<int>.Count == 4) high += Vector.ConvertToSingle(highSums) * scale;
        }
        if (whole < scales.Length)
        {
            int start = whole * BlockSize;
            LaneSums(quants.Slice(start), v.Quants.Slice(start), tailSums);
            ReadOnlySpan<Vector<int>> sums = MemoryMarshal.Cast<int, Vector<int>>(tailSums);
            var scale = new Vector<float>(scales[whole] * v.Scales[whole]);
            low += Vector.ConvertToSingle(sums[0]) * scale;
            if (Vector<int>.Count == 4) high += Vector.ConvertToSingle(sums[1]) * scale;
        }
    }

}

/// <summary>A vector quantized for <see cref="Q8MatrixVector"/>: int8 values padded to whole 32-element blocks, one scale per block.</summary>
internal readonly ref struct QuantizedVector
{
    public QuantizedVector(ReadOnlySpan<sbyte> quants, ReadOnlySpan<float> scales)
    {
        Quants = quants;
        Scales = scales;
    }

    public ReadOnlySpan<sbyte> Quants { get; }  // (blocks · 32) zero past the vector's length

    public ReadOnlySpan<float> Scales { get; }  // (blocks) max|v| / 127 of each block
}
