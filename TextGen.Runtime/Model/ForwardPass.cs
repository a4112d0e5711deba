using TextGen.Runtime.Cells;
using TextGen.Runtime.Format;
using TextGen.Runtime.Kernels;

namespace TextGen.Runtime.Model;

/// <summary>One character through the stack of recurrent layers and the head, top to bottom.</summary>
internal static class ForwardPass
{
    /// <summary>Feeds <paramref name="token"/> through every layer, then writes the next character's logits.</summary>
    public static void Step(ModelWeights model, RunState state, KernelMode mode, int token)
    {
        for (int l = 0; l < model.Layers.Length; l++)
        {
            LayerWeights layer = model.Layers[l];
            LayerInput input = l == 0 ? model.FirstLayerInput(token) : new LayerInput(layer.InputWeights, state.Hidden[l - 1], layer.Bias);
            switch (model.Cell)
            {
                case CellKind.Rnn:
                    RnnCell.Step(mode, layer, input, state.Hidden[l], state.Gates);
                    break;
                case CellKind.Gru:
                    GruCell.Step(mode, layer, input, state.Hidden[l], state.Gates, state.Scratch);
                    break;
                default:
                    LstmCell.Step(mode, layer, input, state.Hidden[l], state.Cell[l], state.Gates, state.Scratch);
                    break;
            }
        }
        Head(model, state, mode);
    }

    /// <summary>
    /// logits = W_head·h + b_head with the last layer's h. Before any input h is zero and the logits are the head's
    /// bias: the model's guess with no context, which is where generation without a prime starts.
    /// </summary>
    public static void Head(ModelWeights model, RunState state, KernelMode mode)
        => MatrixVector.Multiply(mode, model.HeadWeight, state.Hidden[model.Layers.Length - 1], model.HeadBias, state.Logits);

    /// <summary>Back to the initial state: zero h and c, logits of the empty context.</summary>
    public static void Reset(ModelWeights model, RunState state, KernelMode mode)
    {
        state.ClearRecurrentState();
        Head(model, state, mode);
    }
}
