using TextGen.Runtime.Format;

namespace TextGen.Runtime.Model;

/// <summary>
/// Every buffer one forward step needs, allocated once per caller and reused at every character: llama2.c's
/// <c>RunState</c>. This is what makes generation allocate nothing.
/// </summary>
internal sealed class RunState
{
    public RunState(ModelWeights model)
    {
        int layers = model.Layers.Length;
        int hidden = model.HiddenSize;
        Hidden = new float[layers][];
        Cell = new float[layers][];
        for (int l = 0; l < layers; l++)
        {
            Hidden[l] = new float[hidden];
            Cell[l] = model.Cell == CellKind.Lstm ? new float[hidden] : Array.Empty<float>();
        }
        Gates = new float[model.GateRows];
        Scratch = new float[hidden];
        Logits = new float[model.HeadBias.Length];
    }

    public float[][] Hidden { get; }  // (layers, H) h of each layer; the last one feeds the head

    public float[][] Cell { get; }    // (layers, H) LSTM c of each layer; empty arrays for RNN and GRU

    public float[] Gates { get; }     // (G*H) gate pre-activations, then activations, in PyTorch gate order

    public float[] Scratch { get; }   // (H) GRU: W_hn·h + b_hn; LSTM: tanh(c')

    public float[] Logits { get; }    // (V) next-character scores: the head applied to the last layer's h

    /// <summary>Zeroes the recurrent state (h, and c for LSTM) of every layer: PyTorch's default initial state.</summary>
    public void ClearRecurrentState()
    {
        for (int l = 0; l < Hidden.Length; l++)
        {
            Array.Clear(Hidden[l], 0, Hidden[l].Length);
            Array.Clear(Cell[l], 0, Cell[l].Length);
        }
    }
}
