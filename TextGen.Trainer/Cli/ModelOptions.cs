using System.CommandLine;
using TextGen.Runtime.Format;
using TextGen.Trainer.Training;
using static TextGen.Trainer.Cli.TrainerCommandLine;

namespace TextGen.Trainer.Cli;

/// <summary>
/// The options that fix a model, its data and its randomness (<c>--corpus</c>, <c>--out</c>, <c>--arch</c> …
/// <c>--val-fraction</c>), shared by <c>train</c> and <c>lr-find</c> so a range test sees exactly the run it advises.
/// </summary>
internal sealed class ModelOptions
{
    private static readonly TrainingConfig Defaults = TrainingConfig.Defaults;

    private readonly Option<string> _corpus = new("--corpus") { Description = "UTF-8 training text", Required = true, HelpName = "PATH" };
    private readonly Option<string> _arch = Choice("--arch", "Recurrent cell", Defaults.Arch.ToString().ToLowerInvariant(), "lstm", "gru", "rnn");
    private readonly Option<int> _layers = Number("--layers", "Stacked recurrent layers", Defaults.Layers);
    private readonly Option<int> _hidden = Number("--hidden", "Hidden units per layer", Defaults.Hidden);
    private readonly Option<int> _embedding = Number("--embedding", "Embedding width; 0 feeds one-hot vectors", Defaults.Embedding);
    private readonly Option<int> _seqLen = Number("--seq-len", "Characters per stream per step (BPTT truncation length)", Defaults.SeqLen);
    private readonly Option<int> _batch = Number("--batch", "Parallel streams per step", Defaults.Batch);
    private readonly Option<double> _dropout = Number("--dropout", "Dropout between recurrent layers and before the output layer", Defaults.Dropout);
    private readonly Option<double> _clip = Number("--clip", "Gradient-norm clipping threshold", Defaults.Clip);
    private readonly Option<long> _seed = Number("--seed", "Seed of initialization, dropout and the data walk", Defaults.Seed);
    private readonly Option<int> _threads = Number("--threads", "libtorch threads; 0 uses every core", Defaults.Threads);
    private readonly Option<double> _weightDecay = Number("--weight-decay", "Decoupled weight decay (AdamW) of the weight matrices; 0 trains with Adam", Defaults.WeightDecay);
    private readonly Option<double> _valFraction = Number("--val-fraction", "Share at the end of the corpus held out for validation", Defaults.ValFraction);

    /// <summary>Creates the options; <paramref name="outDescription"/> says what the command writes into <c>--out</c>.</summary>
    public ModelOptions(string outDescription) =>
        Out = new Option<string>("--out") { Description = outDescription, Required = true, HelpName = "DIR" };

    /// <summary><c>--out DIR</c>.</summary>
    public Option<string> Out { get; }

    /// <summary>The <c>--out</c> directory given.</summary>
    /// <exception cref="UsageException">It is an empty string.</exception>
    public string ReadOut(ParseResult parse)
    {
        string directory = parse.GetRequiredValue(Out);
        return string.IsNullOrWhiteSpace(directory) ? throw new UsageException("--out must name a directory, not an empty string") : directory;
    }

    /// <summary>Adds every option to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (Option option in new Option[] { _corpus, Out, _arch, _layers, _hidden, _embedding, _seqLen, _batch, _dropout, _clip, _weightDecay, _seed, _threads, _valFraction })
        {
            command.Options.Add(option);
        }
    }

    /// <summary>The defaults with these options' values; the caller sets the rest and checks <see cref="TrainingConfig.Problems"/>.</summary>
    public TrainingConfig Read(ParseResult parse) => Defaults with
    {
        Corpus = parse.GetRequiredValue(_corpus),
        Arch = Enum.Parse<CellKind>(parse.GetRequiredValue(_arch), ignoreCase: true),
        Layers = parse.GetValue(_layers),
        Hidden = parse.GetValue(_hidden),
        Embedding = parse.GetValue(_embedding),
        SeqLen = parse.GetValue(_seqLen),
        Batch = parse.GetValue(_batch),
        Dropout = parse.GetValue(_dropout),
        Clip = parse.GetValue(_clip),
        WeightDecay = parse.GetValue(_weightDecay),
        Seed = parse.GetValue(_seed),
        Threads = parse.GetValue(_threads),
        ValFraction = parse.GetValue(_valFraction),
    };
}
