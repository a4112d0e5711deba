using System.Text.Json.Serialization;
using TextGen.Runtime.Format;

namespace TextGen.Trainer.Training;

/// <summary>How the learning rate moves over a run.</summary>
internal enum ScheduleKind
{
    /// <summary>The base rate throughout.</summary>
    Constant,

    /// <summary>Linear warmup, then a half cosine down to a tenth of the base rate at the last step.</summary>
    Cosine,

    /// <summary>The base rate multiplied by the decay factor every decay-every steps.</summary>
    Step,
}

/// <summary>What the divergence guard does when the loss blows up.</summary>
internal enum DivergenceAction
{
    /// <summary>Stop the run with a message naming the learning rate.</summary>
    Stop,

    /// <summary>Reload the last good checkpoint and halve the learning rate.</summary>
    Rollback,
}

/// <summary>
/// Every choice that defines a run. Property names are the command-line options (<c>SeqLen</c> is <c>--seq-len</c>),
/// defaults suit Tiny Shakespeare on a laptop (about ten minutes on two cores), and the record is stored verbatim
/// in each checkpoint and in the exported model's metadata.
/// </summary>
internal sealed record TrainingConfig
{
    /// <summary>The defaults the command line shows and uses.</summary>
    public static TrainingConfig Defaults { get; } = new() { Corpus = "" };

    /// <summary>Path of the UTF-8 training text.</summary>
    public required string Corpus { get; init; }

    /// <summary>Recurrent cell.</summary>
    public CellKind Arch { get; init; } = CellKind.Lstm;

    /// <summary>Stacked recurrent layers.</summary>
    public int Layers { get; init; } = 2;

    /// <summary>Hidden units per layer.</summary>
    public int Hidden { get; init; } = 256;

    /// <summary>Embedding width; 0 feeds one-hot vectors.</summary>
    public int Embedding { get; init; } = 64;

    /// <summary>Characters per stream per step (the truncation length of BPTT).</summary>
    public int SeqLen { get; init; } = 128;

    /// <summary>Parallel streams per step.</summary>
    public int Batch { get; init; } = 32;

    /// <summary>
    /// Base learning rate of Adam. The blog's model learned at 2e-3 and not at 1e-2; this trainer's LSTMs learned at
    /// both in the short runs of docs/learning-rates.md, so 2e-3 is the safe default, and <c>lr-find</c> measures a model's range.
    /// </summary>
    public double Lr { get; init; } = 2e-3;

    /// <summary>Learning-rate schedule.</summary>
    public ScheduleKind Schedule { get; init; } = ScheduleKind.Cosine;

    /// <summary>Linear warmup steps of the cosine schedule; null for <see cref="WarmupSteps"/>'s default.</summary>
    public int? Warmup { get; init; }

    /// <summary>Steps between decays of the step schedule.</summary>
    public int DecayEvery { get; init; } = 1000;

    /// <summary>Factor of each decay of the step schedule.</summary>
    public double DecayFactor { get; init; } = 0.5;

    /// <summary>Dropout between stacked recurrent layers and on the last layer's output.</summary>
    public double Dropout { get; init; } = 0.1;

    /// <summary>Largest global gradient L2 norm; larger gradients are scaled down to it.</summary>
    public double Clip { get; init; } = 1.0;

    /// <summary>Steps to train; null when the run is bounded by <see cref="Minutes"/>.</summary>
    public long? Steps { get; init; } = 3000;

    /// <summary>Training time in minutes; null when the run is bounded by <see cref="Steps"/>.</summary>
    public double? Minutes { get; init; }

    /// <summary>Steps between validations (and metrics lines).</summary>
    public int EvalEvery { get; init; } = 250;

    /// <summary>Steps between checkpoints.</summary>
    public int CheckpointEvery { get; init; } = 500;

    /// <summary>Seed of the weight initialization, dropout and the data walk.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>Intra-op threads of libtorch; 0 lets libtorch use every core.</summary>
    public int Threads { get; init; }

    /// <summary>Fraction at the end of the corpus held out for validation.</summary>
    public double ValFraction { get; init; } = 0.1;

    /// <summary>Keep the best-validation checkpoint in DIR/best and export from it.</summary>
    public bool KeepBest { get; init; }

    /// <summary>What the divergence guard does.</summary>
    public DivergenceAction OnDivergence { get; init; } = DivergenceAction.Stop;

    /// <summary>
    /// Replace Adam by a fresh one every this many steps; null (the default) keeps one Adam for the whole run.
    /// Only for demonstrating the blog's mistake: it restarts the moment estimates and the bias correction.
    /// </summary>
    public int? RecreateOptimizerEvery { get; init; }

    /// <summary>
    /// Decoupled weight decay of AdamW (Loshchilov and Hutter): each step multiplies every weight matrix by
    /// 1 − lr·decay before Adam's update. 0 (the default, and the value of checkpoints written before the option
    /// existed) trains with plain Adam.
    /// </summary>
    public double WeightDecay { get; init; }

    /// <summary>
    /// First step whose weights enter the running mean (Polyak/SWA averaging) that validation scores and export
    /// writes; null (the default) trains without averaging.
    /// </summary>
    public long? AverageFrom { get; init; }

    /// <summary>The cosine schedule's warmup: as given, or a tenth of the run up to 100 steps.</summary>
    public long WarmupSteps() => Warmup ?? Math.Min(100, (Steps ?? 0) / 10);

    /// <summary>
    /// Everything wrong with the values, each message naming its option, e.g. "--hidden must be between 1 and
    /// 8192 (got -5)". Empty when the config is usable. The command line and checkpoint loading both use it.
    /// </summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        void Range(string option, long value, long min, long max)
        {
            if (value < min || value > max) problems.Add($"{option} must be between {min} and {max} (got {value})");
        }
        void Positive(string option, double value, double max = double.MaxValue)
        {
            if (!double.IsFinite(value) || value <= 0 || value > max) problems.Add($"{option} must be a finite number above 0{(max < double.MaxValue ? $" and at most {max}" : "")} (got {value})");
        }
        void Fraction(string option, double value, bool zeroAllowed)
        {
            if (!double.IsFinite(value) || value < 0 || value >= 1 || (!zeroAllowed && value == 0))
                problems.Add($"{option} must be {(zeroAllowed ? "at least 0" : "above 0")} and below 1 (got {value})");
        }

        if (!Enum.IsDefined(Arch)) problems.Add($"--arch must be lstm, gru or rnn (got {Arch})");
        Range("--layers", Layers, 1, ModelArchitecture.MaxLayers);
        Range("--hidden", Hidden, 1, ModelArchitecture.MaxHiddenSize);
        Range("--embedding", Embedding, 0, ModelArchitecture.MaxEmbeddingSize);
        Range("--seq-len", SeqLen, 1, 100_000);
        Range("--batch", Batch, 1, 100_000);
        Positive("--lr", Lr, 100);
        if (!Enum.IsDefined(Schedule)) problems.Add($"--schedule must be constant, cosine or step (got {Schedule})");
        if (Warmup is int warmup) Range("--warmup", warmup, 0, int.MaxValue);
        Range("--decay-every", DecayEvery, 1, int.MaxValue);
        Positive("--decay-factor", DecayFactor, 1);
        Fraction("--dropout", Dropout, zeroAllowed: true);
        Positive("--clip", Clip);
        if (Steps is null == Minutes is null) problems.Add("give exactly one of --steps and --minutes");
        if (Steps is long steps) Range("--steps", steps, 1, long.MaxValue / 2);
        if (Minutes is double minutes) Positive("--minutes", minutes, 1e6);
        if (Schedule == ScheduleKind.Cosine && Steps is null) problems.Add("--schedule cosine needs --steps, because the cosine's length must be known; with --minutes use --schedule constant or step");
        if (Schedule == ScheduleKind.Cosine && Steps is long total && total >= 1 && WarmupSteps() >= total) problems.Add($"--warmup must be below --steps ({WarmupSteps()} >= {total})");
        Range("--eval-every", EvalEvery, 1, int.MaxValue);
        Range("--checkpoint-every", CheckpointEvery, 1, int.MaxValue);
        Range("--threads", Threads, 0, 1024);
        Fraction("--val-fraction", ValFraction, zeroAllowed: false);
        if (RecreateOptimizerEvery is int every) Range("--recreate-optimizer-every", every, 1, int.MaxValue);
        if (!double.IsFinite(WeightDecay) || WeightDecay < 0 || WeightDecay > 100) problems.Add($"--weight-decay must be a finite number between 0 and 100 (got {WeightDecay})");
        else if (Lr * WeightDecay >= 1) problems.Add($"--weight-decay times --lr must be below 1, or every step flips the weights' sign (got {WeightDecay} × {Lr})");
        if (AverageFrom is long from) Range("--average-from", from, 0, long.MaxValue / 2);
        if (!Enum.IsDefined(OnDivergence)) problems.Add($"--on-divergence must be stop or rollback (got {OnDivergence})");
        if (string.IsNullOrWhiteSpace(Corpus)) problems.Add("--corpus is required");
        return problems;
    }
}

/// <summary>JSON for configs and checkpoint state: snake_case names, enums as lower-case strings.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    UseStringEnumConverter = true,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(TrainingConfig))]
[JsonSerializable(typeof(Checkpoints.CheckpointState))]
internal sealed partial class TrainerJson : JsonSerializerContext;
