using TextGen.Runtime.Format;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TextGen.Trainer.Model;

/// <summary>
/// The character model the Runtime runs: embedding (or one-hot) → stacked RNN/GRU/LSTM → linear head. The fields'
/// names are the module names, so <c>state_dict()</c> keys equal <see cref="ModelArchitecture.ExpectedTensors"/>.
/// </summary>
internal sealed class CharModel : nn.Module<Tensor, RecurrentState, (Tensor Logits, RecurrentState State)>
{
#pragma warning disable IDE1006 // lower-case: TorchSharp registers submodules under their field names
    private readonly Embedding? embedding; // weight (vocab, embedding); null in one-hot mode
    private readonly nn.Module rnn;        // per layer k: weight_ih_lk (gates*hidden, input), weight_hh_lk (gates*hidden, hidden), two biases (gates*hidden)
    private readonly Dropout top;          // no weights; on the last layer's output, as char-rnn does, since nn.LSTM's dropout skips it
    private readonly Linear head;          // weight (vocab, hidden), bias (vocab)
#pragma warning restore IDE1006

    /// <summary>Builds a freshly initialized model (PyTorch's default initialization, drawn from the global torch generator).</summary>
    /// <param name="architecture">Cell, layers, sizes and vocabulary.</param>
    /// <param name="dropout">Dropout between stacked recurrent layers and on the last layer's output, while training.</param>
    public CharModel(ModelArchitecture architecture, double dropout) : base(nameof(CharModel))
    {
        Architecture = architecture;
        int input = architecture.InputSize, hidden = architecture.HiddenSize, layers = architecture.Layers;
        embedding = architecture.IsOneHot ? null : nn.Embedding(architecture.VocabularySize, architecture.EmbeddingSize);
        // A single layer has nothing between layers to drop, and libtorch warns on every run when asked to.
        double between = layers > 1 ? dropout : 0;
        rnn = architecture.Cell switch
        {
            CellKind.Rnn => nn.RNN(input, hidden, layers, dropout: between),
            CellKind.Gru => nn.GRU(input, hidden, layers, dropout: between),
            _ => nn.LSTM(input, hidden, layers, dropout: between),
        };
        top = nn.Dropout(dropout);
        head = nn.Linear(hidden, architecture.VocabularySize);
        RegisterComponents();
    }

    /// <summary>Cell, layers, sizes and vocabulary.</summary>
    public ModelArchitecture Architecture { get; }

    /// <summary>
    /// The model holding <paramref name="file"/>'s weights (f16 and q8 decoded to f32), in eval mode: the inverse of
    /// <see cref="Export.ModelExporter.FromModel"/>, so TorchSharp can run a shipped weight file side by side with the Runtime.
    /// </summary>
    public static CharModel FromModelFile(ModelFile file)
    {
        var model = new CharModel(file.Architecture, dropout: 0);
        using (no_grad())
        {
            // The file was validated against ExpectedTensors, whose names are these state_dict keys.
            foreach (var (name, parameter) in model.named_parameters())
            {
                ModelTensor stored = file.GetTensor(name);
                using var values = tensor(stored.ToFloat32Array(), stored.Shape.Select(d => (long)d).ToArray());
                parameter.copy_(values);
            }
        }
        model.eval();
        return model;
    }

    /// <summary>A zero state for <paramref name="streams"/> parallel sequences.</summary>
    public RecurrentState ZeroState(int streams) =>
        RecurrentState.Zeros(Architecture.Cell, Architecture.Layers, streams, Architecture.HiddenSize);

    /// <summary>Runs a chunk: ids (seq, streams) and the state before it → logits (seq, streams, vocab) and the state after it.</summary>
    public override (Tensor Logits, RecurrentState State) forward(Tensor ids, RecurrentState state)
    {
        Tensor x = embedding is null
            ? nn.functional.one_hot(ids, Architecture.VocabularySize).to_type(ScalarType.Float32)
            : embedding.forward(ids);
        (Tensor output, RecurrentState next) = rnn switch
        {
            LSTM lstm => Lstm(lstm, x, state),
            GRU gru => Single(gru.forward(x, state.H)),
            RNN plain => Single(plain.forward(x, state.H)),
            _ => throw new InvalidOperationException("unknown recurrent module"),
        };
        return (head.forward(top.forward(output)), next);
    }

    private static (Tensor, RecurrentState) Lstm(LSTM lstm, Tensor x, RecurrentState state)
    {
        var (output, h, c) = lstm.forward(x, (state.H, state.C!));
        return (output, new RecurrentState(h, c));
    }

    private static (Tensor, RecurrentState) Single((Tensor Output, Tensor H) result) => (result.Output, new RecurrentState(result.H, null));
}
