using TextGen.Runtime.Kernels;

namespace TextGen.Runtime.Model;

/// <summary>One recurrent layer's weights, rows in PyTorch's gate order (G = 1 RNN, 3 GRU r,z,n, 4 LSTM i,f,g,o).</summary>
internal sealed class LayerWeights
{
    public LayerWeights(WeightRows inputWeights, WeightRows hiddenWeights, float[] bias, float[] hiddenNewBias)
    {
        InputWeights = inputWeights;
        HiddenWeights = hiddenWeights;
        Bias = bias;
        HiddenNewBias = hiddenNewBias;
    }

    public WeightRows InputWeights { get; }  // (G*H, in) W_ih in the file's dtype; empty for layer 0 when the model's input table holds W_ih·x

    public WeightRows HiddenWeights { get; } // (G*H, H) W_hh in the file's dtype

    public float[] Bias { get; }             // (G*H) b_ih + b_hh, except GRU n rows: b_in alone (b_hn sits inside r·(…))

    public float[] HiddenNewBias { get; }    // (H) GRU b_hn; empty for RNN and LSTM
}
