using TextGen.Runtime.Format;
using TextGen.Runtime.Kernels;

namespace TextGen.Runtime.Model;

/// <summary>
/// The buffers a batched forward step needs besides each session's own <see cref="RunState"/>: the sessions' vectors
/// gathered side by side for the batched kernels, sized once for the most sessions a batch steps at a time.
/// </summary>
internal sealed class BatchRunState
{
    public BatchRunState(ModelWeights model, int capacity, bool lanePanels, bool batchedQ8)
    {
        int hidden = model.HiddenSize;
        int firstInput = model.InputTable.Length > 0 ? 0 : model.Architecture.EmbeddingSize;
        Sessions = new RunState[capacity];
        Tokens = new int[capacity];
        // The batched kernels' other operand: each session's vector starts a cache line when its length allows (AlignedArray).
        Inputs = AlignedArray.Create<float>(capacity * Math.Max(firstInput, model.Layers.Length > 1 ? hidden : 0));
        Hidden = AlignedArray.Create<float>(capacity * hidden);
        InputTerms = new float[model.InputTable.Length > 0 ? capacity * model.GateRows : 0];
        Gates = new float[capacity * model.GateRows];
        Scratch = new float[model.Cell == CellKind.Gru ? capacity * hidden : 0];
        Logits = new float[capacity * model.HeadBias.Length];
        int workspace = Math.Max(lanePanels ? PanelWorkspaceFloats(model, capacity) : 0, batchedQ8 ? BatchedQ8WorkspaceFloats(model, capacity) : 0);
        KernelWorkspace = workspace > 0 ? AlignedArray.Create<float>(workspace) : default;
    }

    public RunState[] Sessions { get; }  // (capacity) the sessions of this step, the first Count of them in use

    public int[] Tokens { get; }         // (capacity) the token each session is fed

    public ArraySegment<float> Inputs { get; } // (capacity, E or H) x of each session: its embedding row, or the layer below's h

    public ArraySegment<float> Hidden { get; } // (capacity, H) h of each session, the current layer's or the last one's for the head

    public float[] InputTerms { get; }   // (capacity, G*H) each session's input-table row; empty without a table

    public float[] Gates { get; }        // (capacity, G*H) each session's pre-activations

    public float[] Scratch { get; }      // (capacity, H) GRU: each session's W_hn·h + b_hn; empty otherwise

    public float[] Logits { get; }       // (capacity, V) each session's next-character scores

    public ArraySegment<float> KernelWorkspace { get; } // the lane-panel kernel's packed inputs and partial sums, or row-scaled q8's quantized sessions; empty when neither is used

    /// <summary>The largest workspace any of a step's products needs: a layer's x and h blocks, or the head's h.</summary>
    private static int PanelWorkspaceFloats(ModelWeights model, int capacity)
    {
#if NET8_0_OR_GREATER
        int blocks = LanePanel.BlocksOf(model.HiddenSize);
        foreach (LayerWeights layer in model.Layers) blocks = Math.Max(blocks, LanePanel.BlocksOf(layer.InputWeights.Columns) + LanePanel.BlocksOf(layer.HiddenWeights.Columns));
        return LanePanelMatrixVector.WorkspaceFloats(blocks, capacity);
#else
        return 0;
#endif
    }

    /// <summary>The largest workspace any of a step's row-scaled q8 products needs: a layer's x and h quants, or the head's h.</summary>
    private static int BatchedQ8WorkspaceFloats(ModelWeights model, int capacity)
    {
#if NET8_0_OR_GREATER
        int floats = RowQ8MatrixVector.BatchWorkspaceFloats(0, model.HiddenSize, capacity);
        foreach (LayerWeights layer in model.Layers) floats = Math.Max(floats, RowQ8MatrixVector.BatchWorkspaceFloats(layer.InputWeights.Columns, layer.HiddenWeights.Columns, capacity));
        return floats;
#else
        return 0;
#endif
    }
}
