using TextGen.Runtime.Format;

namespace TextGen.Runtime.Kernels;

/// <summary>
/// An f32 matrix re-laid out for <c>LanePanelMatrixVector</c>, the batched kernel that puts rows, not columns,
/// in a vector's lanes. Rows are taken 16 at a time (a row vector; the last one zero-padded), and for each row vector
/// and each of <see cref="FixedOrderSum"/>'s 16 lanes, the weights of the columns that lane sums (l, l+16, l+32, …)
/// follow each other, each as the 16 rows' weights of that column (zero past the last column):
/// <c>element ((v·16 + l)·Blocks + i)·16 + r = W[16v + r, 16i + l]</c>.
/// <para>
/// So one 64-byte load gives one column's weights for 16 rows, which multiply one input broadcast per session, and
/// each row's lane l still adds its products in the column order the single-session kernels use. The batch keeps
/// this copy beside the row-major weights, which one session reads (<see cref="Model.ModelWeights.PrepareLanePanels"/>).
/// </para>
/// </summary>
internal sealed class LanePanel
{
    private const int Lanes = FixedOrderSum.Lanes;

    private readonly float[] _source; // the row-major matrix this copies, and where in it (WeightRows.Origin)
    private readonly int _origin;

    private LanePanel(ArraySegment<float> values, int rows, int columns, float[] source, int origin)
    {
        _source = source;
        _origin = origin;
        Values = values;
        Rows = rows;
        Columns = columns;
    }

    public ArraySegment<float> Values { get; } // (RowVectors, 16 lanes, Blocks, 16 rows), 64-byte aligned

    public int Rows { get; }

    public int Columns { get; }

    /// <summary>16-column blocks per row: each lane has one column in each, the last block's missing ones zero.</summary>
    public int Blocks => BlocksOf(Columns);

    public int RowVectors => BlocksOf(Rows);

    /// <summary>Groups of 16 in <paramref name="count"/> elements, the last one possibly short: a row's column blocks, a matrix's row vectors.</summary>
    public static int BlocksOf(int count) => (count + Lanes - 1) / Lanes;

    /// <summary>Floats from one lane of a row vector to the next: that lane's column in every block, 16 rows each.</summary>
    public int LaneFloats => Blocks * Lanes;

    /// <summary>Index in <see cref="Values"/> (from its offset) of row vector <paramref name="rowVector"/>'s lane <paramref name="lane"/>.</summary>
    public int LaneStart(int rowVector, int lane) => (rowVector * Lanes + lane) * LaneFloats;

    /// <summary>The whole f32 matrix <paramref name="w"/> (not a slice of one) re-laid out.</summary>
    public static LanePanel Create(in WeightRows w)
    {
        if (w.DType != TensorDType.F32) throw new ArgumentException($"lane panels hold f32 weights, not {w.DType}", nameof(w));
        if (w.FirstRow != 0) throw new ArgumentException("lane panels are made from a whole matrix, not a slice", nameof(w));
        int rows = w.Rows, columns = w.Columns;
        int blocks = BlocksOf(columns), rowVectors = BlocksOf(rows);
        // Every element is written below, once: the padding's zeros too, so no clearing pass touches the fresh memory first.
        ArraySegment<float> values = AlignedArray.Create<float>(rowVectors * Lanes * blocks * Lanes);
        Span<float> panel = values.AsSpan();
        ReadOnlySpan<float> source = w.FloatSpan;
        // A 16 × 16 square at a time (16 rows of one block): reads 16 runs of 16 floats, writes 16 lines, one per lane.
        int laneFloats = blocks * Lanes;
        for (int v = 0; v < rowVectors; v++)
        {
            Span<float> vector = panel.Slice(v * Lanes * laneFloats, Lanes * laneFloats);
            for (int block = 0; block < blocks; block++)
            {
                for (int r = 0; r < Lanes; r++)
                {
                    int row = v * Lanes + r, first = block * Lanes;
                    int present = row < rows ? Math.Min(Lanes, columns - first) : 0;
                    ReadOnlySpan<float> run = present > 0 ? source.Slice(row * columns + first, present) : default;
                    for (int lane = 0; lane < Lanes; lane++) vector[lane * laneFloats + block * Lanes + r] = lane < present ? run[lane] : 0f;
                }
            }
        }
        return new LanePanel(values, rows, columns, w.Floats, w.Origin);
    }

    /// <summary>Whether this panel holds the matrix <paramref name="w"/> is a view of (or is).</summary>
    public bool Holds(in WeightRows w)
        => ReferenceEquals(w.Floats, _source) && w.Origin == _origin && w.DType == TensorDType.F32 && w.Columns == Columns && w.FirstRow + w.Rows <= Rows;

    /// <summary>
    /// Where a matrix keeps its panel once one is made: every view of the matrix (<see cref="WeightRows.Slice(int, int)"/>)
    /// shares it. Made on request only (<see cref="Fill"/>), never by a kernel, so a step allocates nothing.
    /// </summary>
    internal sealed class Slot
    {
        private LanePanel? _panel;

        public LanePanel? Panel => Volatile.Read(ref _panel);

        /// <summary>Makes the panel of <paramref name="w"/> unless there is one; safe to call from several threads.</summary>
        public void Fill(in WeightRows w)
        {
            if (Panel is not null || w.Rows == 0) return;
            lock (this)
            {
                if (_panel is null) Volatile.Write(ref _panel, Create(w));
            }
        }
    }
}
