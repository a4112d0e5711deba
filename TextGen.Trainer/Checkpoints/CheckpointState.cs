using TextGen.Trainer.Data;
using TextGen.Trainer.Training;

namespace TextGen.Trainer.Checkpoints;

/// <summary>
/// The non-tensor part of a checkpoint (its <c>checkpoint.json</c>): where the run stands and everything needed to
/// continue it bit for bit. The tensors (weights, Adam moments, torch RNG, carried hidden state, weight average)
/// sit beside it.
/// </summary>
internal sealed record CheckpointState
{
    /// <summary>Layout version of the checkpoint directory.</summary>
    public const int CurrentFormat = 1;

    /// <summary>Layout version this checkpoint was written with.</summary>
    public int Format { get; init; } = CurrentFormat;

    /// <summary>Version of the trainer that wrote it.</summary>
    public required string TrainerVersion { get; init; }

    /// <summary>The run's settings.</summary>
    public required TrainingConfig Config { get; init; }

    /// <summary>Unicode scalars in id order.</summary>
    public required int[] Vocabulary { get; init; }

    /// <summary>File name of the corpus.</summary>
    public required string CorpusName { get; init; }

    /// <summary>SHA-256 of the corpus bytes; a resume refuses a corpus that changed.</summary>
    public required string CorpusSha256 { get; init; }

    /// <summary>Optimizer steps taken.</summary>
    public long Step { get; init; }

    /// <summary>Seconds of training so far, across every session of the run.</summary>
    public double ElapsedSeconds { get; init; }

    /// <summary>Position of the batch walk.</summary>
    public BatchCursor Cursor { get; init; }

    /// <summary>Multiplier on the scheduled learning rate; each divergence rollback halves it.</summary>
    public double LrScale { get; init; } = 1;

    /// <summary>Divergence rollbacks so far.</summary>
    public int Rollbacks { get; init; }

    /// <summary>Moving-average loss and its minimum, as the divergence guard saw them.</summary>
    public DivergenceState Guard { get; init; } = DivergenceState.Initial;

    /// <summary>Lowest validation loss so far (nats per character); +Infinity before the first validation.</summary>
    public double BestValLoss { get; init; } = double.PositiveInfinity;

    /// <summary>Validation loss of the weights in this checkpoint, when they were validated.</summary>
    public double? ValLoss { get; init; }

    /// <summary>Sum of the training losses since the last validation, for the next metrics line.</summary>
    public double TrainLossSum { get; init; }

    /// <summary>Steps summed in <see cref="TrainLossSum"/>.</summary>
    public long TrainLossCount { get; init; }

    /// <summary>
    /// Steps in the running weight mean of <c>--average-from</c> (its tensors are <c>average.bin</c>); 0 when the
    /// run does not average or has not reached the step yet, and in checkpoints written before averaging existed.
    /// </summary>
    public long AverageCount { get; init; }
}
