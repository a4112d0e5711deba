using TextGen.Runtime.Cells;
using TextGen.Runtime.Format;
using TextGen.Runtime.Kernels;

namespace TextGen.Runtime.Model;

/// <summary>
/// <see cref="ForwardPass"/> for several sessions at once: the matrix products of each layer and of the head run for
/// all of them in one batched kernel call, so every weight is read once per step instead of once per session; the
/// elementwise half of each cell runs per session on that session's own state, with the same code as a single step.
/// Each session ends with the bits a single <see cref="ForwardPass.Step"/> gives it.
/// </summary>
internal static class BatchedForwardPass
{
    /// <summary>Feeds <c>batch.Tokens[s]</c> to <c>batch.Sessions[s]</c> for the first <paramref name="count"/> sessions, then writes their logits.</summary>
    public static void Step(ModelWeights model, BatchRunState batch, KernelMode mode, int count)
    {
        int hidden = model.HiddenSize;
        int gateRows = model.GateRows;
        RunState[] sessions = batch.Sessions;
        for (int l = 0; l < model.Layers.Length; l++)
        {
            LayerWeights layer = model.Layers[l];
            BatchedLayerInput input = l == 0 ? FirstLayerInput(model, batch, count) : new BatchedLayerInput(layer.InputWeights, Gather(sessions, l - 1, batch.Inputs, count), layer.Bias, 0);
            ReadOnlySpan<float> hs = Gather(sessions, l, batch.Hidden, count);
            Span<float> gates = batch.Gates.AsSpan(0, count * gateRows);
            switch (model.Cell)
            {
                case CellKind.Rnn:
                    RnnCell.MultiplyBatch(mode, layer, input, hs, gates, count, batch.KernelWorkspace);
                    for (int s = 0; s < count; s++) RnnCell.Update(mode.Path, gates.Slice(s * gateRows, gateRows), sessions[s].Hidden[l]);
                    break;
                case CellKind.Gru:
                    Span<float> hiddenNew = batch.Scratch.AsSpan(0, count * hidden);
                    GruCell.MultiplyBatch(mode, layer, input, hs, gates, hiddenNew, count, batch.KernelWorkspace);
                    for (int s = 0; s < count; s++) GruCell.Update(mode.Path, gates.Slice(s * gateRows, gateRows), hiddenNew.Slice(s * hidden, hidden), sessions[s].Hidden[l]);
                    break;
                default:
                    LstmCell.MultiplyBatch(mode, layer, input, hs, gates, count, batch.KernelWorkspace);
                    for (int s = 0; s < count; s++) LstmCell.Update(mode.Path, gates.Slice(s * gateRows, gateRows), sessions[s].Hidden[l], sessions[s].Cell[l], sessions[s].Scratch);
                    break;
            }
        }

        // logits = W_head·h + b_head with each session's last h
        int vocabulary = model.HeadBias.Length;
        ReadOnlySpan<float> last = Gather(sessions, model.Layers.Length - 1, batch.Hidden, count);
        Span<float> logits = batch.Logits.AsSpan(0, count * vocabulary);
        BatchedMatrixVector.MultiplyPair(mode, WeightRows.Empty, ReadOnlySpan<float>.Empty, model.HeadWeight, last, model.HeadBias, 0, logits, vocabulary, vocabulary, count, batch.KernelWorkspace);
        for (int s = 0; s < count; s++) logits.Slice(s * vocabulary, vocabulary).CopyTo(sessions[s].Logits);
    }

    /// <summary>Layer 0's input term for every session's token: <see cref="ModelWeights.FirstLayerInput"/>'s rows side by side.</summary>
    private static BatchedLayerInput FirstLayerInput(ModelWeights model, BatchRunState batch, int count)
    {
        LayerWeights first = model.Layers[0];
        if (model.InputTable.Length > 0)
        {
            int gateRows = model.GateRows;
            for (int s = 0; s < count; s++) model.FirstLayerInput(batch.Tokens[s]).Bias.CopyTo(batch.InputTerms.AsSpan(s * gateRows, gateRows));
            return new BatchedLayerInput(WeightRows.Empty, ReadOnlySpan<float>.Empty, batch.InputTerms.AsSpan(0, count * gateRows), gateRows);
        }
        int e = model.Architecture.EmbeddingSize;
        for (int s = 0; s < count; s++) model.FirstLayerInput(batch.Tokens[s]).Vector.CopyTo(batch.Inputs.AsSpan(s * e, e));
        return new BatchedLayerInput(first.InputWeights, batch.Inputs.AsSpan(0, count * e), first.Bias, 0);
    }

    /// <summary>h of layer <paramref name="layer"/> of each session, side by side in <paramref name="buffer"/>.</summary>
    private static ReadOnlySpan<float> Gather(RunState[] sessions, int layer, ArraySegment<float> buffer, int count)
    {
        int hidden = sessions[0].Hidden[layer].Length;
        for (int s = 0; s < count; s++) sessions[s].Hidden[layer].CopyTo(buffer.AsSpan(s * hidden, hidden));
        return buffer.AsSpan(0, count * hidden);
    }
}
