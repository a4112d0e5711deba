namespace TextGen.Runtime.Format;

/// <summary>The recurrent cell of every layer, with PyTorch's semantics and gate order.</summary>
public enum CellKind
{
    /// <summary>Elman RNN with tanh, as <c>nn.RNN(nonlinearity='tanh')</c>: one gate block.</summary>
    Rnn = 0,

    /// <summary>GRU as <c>nn.GRU</c>: gate blocks r, z, n, with <c>b_hn</c> inside the r product.</summary>
    Gru = 1,

    /// <summary>LSTM as <c>nn.LSTM</c>: gate blocks i, f, g, o.</summary>
    Lstm = 2,
}
