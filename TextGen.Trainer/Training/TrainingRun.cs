using System.Diagnostics;
using System.Reflection;
using TextGen.Runtime.Format;
using TextGen.Trainer.Checkpoints;
using TextGen.Trainer.Data;
using TextGen.Trainer.Model;
using TextGen.Trainer.Plots;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TextGen.Trainer.Training;

/// <summary>How a training session ended.</summary>
internal enum TrainingEnd
{
    /// <summary>The budget is used up; the final checkpoint is written.</summary>
    Completed,

    /// <summary>Ctrl+C or SIGTERM; a checkpoint of the current step is written.</summary>
    Interrupted,

    /// <summary>The divergence guard stopped the run; the last good checkpoint is kept as it was.</summary>
    Diverged,
}

/// <summary>The end of a session and what to tell the user.</summary>
internal sealed record TrainingOutcome(TrainingEnd End, long Step, string Message);

/// <summary>
/// One training run in a directory: the model, the one Adam optimizer, the batch walk and its carried state, and
/// the loop that trains them. Everything is restored from a checkpoint on resume, so a resumed run is
/// bit-identical to one that never stopped.
/// </summary>
internal sealed class TrainingRun : IDisposable
{
    /// <summary>The exported model a completed run writes into its directory.</summary>
    public const string ModelFileName = "model.tgm";

    // The run directory's files that are replaced by an atomic write (a hidden temporary, then a rename).
    private static readonly string[] AtomicallyWrittenFiles = [LossPlot.FileName, ModelFileName, LearningRatePlot.FileName, LearningRateSweep.CsvFileName];

    private const int MaxRollbacks = 8;

    private readonly string _directory;
    private readonly RunLock _lock;
    private readonly TrainingConfig _config;
    private readonly Corpus _corpus;
    private readonly TrainingData _data;
    private readonly Learner _learner; // its Adam is constructed once; checkpoints restore it, only --recreate-optimizer-every replaces it
    private readonly LearningRateSchedule _schedule;
    private readonly MetricsLog _metrics;
    private readonly LossPlot _plot;
    private readonly WeightAverage _average; // stays empty until --average-from; validation and export then use it

    private long _step;
    private double _elapsedBefore; // training seconds of earlier sessions
    private readonly Stopwatch _session = new();
    private double _lrScale = 1;
    private int _rollbacks;
    private readonly List<long> _divergedAt = []; // the steps that diverged in this process, for the final message
    private DivergenceGuard _guard = new(DivergenceState.Initial);
    private double _bestValLoss = double.PositiveInfinity;
    private double? _valLoss;
    private double _trainLossSum;
    private long _trainLossCount;
    private double _stepSeconds; // step time since the last evaluation, for chars/s
    private long _stepChars;
    private double _lastLr;

    private TrainingRun(string directory, RunLock runLock, TrainingConfig config, Corpus corpus, TrainingData data, PlotWriter? plots)
    {
        _directory = directory;
        _lock = runLock;
        _config = config;
        _corpus = corpus;
        _data = data;
        _learner = new Learner(config, data);
        _average = new WeightAverage(_learner.Model);
        _schedule = new LearningRateSchedule(config);
        _metrics = new MetricsLog(directory);
        _plot = new LossPlot(directory, plots ?? new PlotWriter());
    }

    /// <summary>Version of this trainer, recorded in checkpoints and exported files.</summary>
    public static string Version { get; } =
        typeof(TrainingRun).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    /// <summary>The run's model.</summary>
    public CharModel Model => _learner.Model;

    /// <summary>The run's one optimizer: Adam, or AdamW with <c>--weight-decay</c>.</summary>
    public OptimizerHelper Optimizer => _learner.Optimizer;

    /// <summary>The running mean of the weights since <c>--average-from</c>; empty (count 0) before that step or without it.</summary>
    public WeightAverage Average => _average;

    /// <summary>Steps taken.</summary>
    public long Step => _step;

    /// <summary>The run's settings.</summary>
    public TrainingConfig Config => _config;

    /// <summary>Training seconds of the run so far, across sessions.</summary>
    public double ElapsedSeconds => _elapsedBefore + _session.Elapsed.TotalSeconds;

    /// <summary>
    /// Starts a run in <paramref name="directory"/> (created) and writes its step-0 checkpoint, so that a crash,
    /// a resume or a divergence rollback always has a checkpoint to go back to.
    /// </summary>
    /// <param name="config">The run's settings.</param>
    /// <param name="corpus">The text to train on.</param>
    /// <param name="directory">The run directory.</param>
    /// <param name="plots">Draws DIR/loss.png at every validation; pass the one a range test before the run used, so "plots are off" is said once.</param>
    /// <param name="heldLock">The directory's lock, when the caller took it before writing there (a range test); null to take it here.</param>
    /// <exception cref="CorpusException">The corpus is too short for the config.</exception>
    /// <exception cref="CheckpointException">The directory cannot be written, or another process is training in it.</exception>
    public static TrainingRun Start(TrainingConfig config, Corpus corpus, string directory, PlotWriter? plots = null, RunLock? heldLock = null)
    {
        var data = TrainingData.Split(corpus, config.ValFraction, config.Batch, config.SeqLen);
        Directory.CreateDirectory(directory);
        return Locked(directory, heldLock, runLock =>
        {
            var run = new TrainingRun(directory, runLock, config, corpus, data, plots);
            run.SaveCheckpoint(Checkpoint.LatestName);
            return run;
        });
    }

    /// <summary>Reopens the run in <paramref name="directory"/> at its latest checkpoint.</summary>
    /// <param name="directory">The run directory.</param>
    /// <param name="resetOptimizer">Start Adam from scratch instead of restoring it: the blog's mistake, kept only to demonstrate it.</param>
    /// <param name="movedCorpus">The run's corpus at a new place (the same text, which its SHA-256 proves); null to read it where the run recorded it.</param>
    /// <exception cref="CheckpointException">The checkpoint is missing or unreadable, <paramref name="directory"/> is a checkpoint rather than a run, or another process is training the run.</exception>
    /// <exception cref="CorpusException">The corpus is missing or changed since the checkpoint.</exception>
    public static TrainingRun Resume(string directory, bool resetOptimizer, string? movedCorpus = null)
    {
        if (Checkpoint.FindLatest(directory) is null)
        {
            // A checkpoint directory (DIR/checkpoint, DIR/best) is not a run: resumed as one, the run would go on
            // inside it, writing its checkpoints and files one level down, under a lock that does not exclude DIR's.
            if (Checkpoint.Find(directory) is not null)
            {
                string run = Path.GetDirectoryName(Path.GetFullPath(Path.TrimEndingDirectorySeparator(directory))) ?? directory;
                throw new CheckpointException(directory, $"is a checkpoint, not a run directory; resume continues a run from its latest checkpoint: resume {run}");
            }
            // Nothing to resume, found before the lock, so that a directory holding no run (a typo) is not given a
            // lock file. A run whose first checkpoint is still being written has one already: held, the run is said
            // to be training, not broken; otherwise Require names what is wrong.
            if (File.Exists(Path.Combine(directory, RunLock.FileName)))
            {
                using (RunLock.Take(directory))
                {
                }
            }
            Checkpoint.Require(directory);
        }
        return Locked(directory, heldLock: null, runLock => Reopen(directory, runLock, resetOptimizer, movedCorpus));
    }

    private static TrainingRun Reopen(string directory, RunLock runLock, bool resetOptimizer, string? movedCorpus)
    {
        // A kill in the middle of a write leaves its temporary file or directory behind. The lock makes this process
        // the directory's only writer, so whatever it finds of them was abandoned; the checkpoints are tidied before
        // one is opened. Without the lock (no lock file could be opened) nothing is deleted: Open still finds the
        // complete checkpoint, and the leftovers wait for a resume that holds it.
        if (runLock.IsHeld)
        {
            Checkpoint.Tidy(directory, Checkpoint.LatestName);
            Checkpoint.Tidy(directory, Checkpoint.BestName);
            foreach (string name in AtomicallyWrittenFiles) ModelFileStorage.DeleteAbandonedTemporaries(Path.Combine(directory, name));
        }
        var checkpoint = Checkpoint.Open(directory);
        var state = checkpoint.State;
        var config = movedCorpus is null ? state.Config : state.Config with { Corpus = Path.GetFullPath(movedCorpus) };
        if (movedCorpus is null && !File.Exists(config.Corpus) && !Directory.Exists(config.Corpus))
        {
            throw new CorpusException(config.Corpus, $"no such file: the run in {directory} trained on it; if it has moved, give its new place with resume --corpus FILE");
        }
        var corpus = Corpus.Load(movedCorpus ?? config.Corpus);
        if (corpus.Sha256 != state.CorpusSha256)
        {
            throw new CorpusException(corpus.Path, $"changed since the checkpoint was written (sha256 {corpus.Sha256}, the run trained on {state.CorpusSha256}); a resume needs the same text");
        }
        var data = TrainingData.Split(corpus, config.ValFraction, config.Batch, config.SeqLen, new Vocabulary(state.Vocabulary));
        var run = new TrainingRun(directory, runLock, config, corpus, data, plots: null);
        run.Restore(checkpoint, restoreOptimizer: !resetOptimizer);
        run._elapsedBefore = state.ElapsedSeconds;
        run._metrics.TruncateAfter(state.Step);
        return run;
    }

    // Opens a run under the lock of its directory (the one the caller already holds, or taken here); on failure the
    // lock is released again, so that the error is the only trace (and a test, or a caller that fixes the cause, can
    // try again in the same process).
    private static TrainingRun Locked(string directory, RunLock? heldLock, Func<RunLock, TrainingRun> open)
    {
        var runLock = heldLock ?? RunLock.Take(directory);
        try
        {
            return open(runLock);
        }
        catch
        {
            runLock.Dispose();
            throw;
        }
    }

    /// <summary>Trains until <paramref name="budget"/> is spent, <paramref name="cancel"/> fires, or the guard stops the run.</summary>
    public TrainingOutcome Train(TrainingBudget budget, ITrainingReporter reporter, CancellationToken cancel)
    {
        long startStep = _step;
        double startSeconds = ElapsedSeconds;
        _session.Start();
        try
        {
            while (!budget.IsSpent(_step, ElapsedSeconds))
            {
                if (cancel.IsCancellationRequested)
                {
                    SaveCheckpoint(Checkpoint.LatestName);
                    return new TrainingOutcome(TrainingEnd.Interrupted, _step, $"interrupted at step {_step}; checkpoint written, continue with: resume {_directory}");
                }

                double lr = _schedule.At(_step) * _lrScale;
                double loss = TrainStep(lr);
                if (_guard.Observe(loss) is string divergence)
                {
                    if (_config.OnDivergence == DivergenceAction.Stop || _rollbacks >= MaxRollbacks) return Diverged(divergence, lr);
                    RollBack(divergence, lr, reporter);
                    continue;
                }

                _step++;
                if (_step >= _config.AverageFrom) _average.Add();
                _trainLossSum += loss;
                _trainLossCount++;
                reporter.Stepped(new StepReport(_step, loss, lr, budget.Fraction(startStep, startSeconds, _step, ElapsedSeconds)));
                if (_step % _config.EvalEvery == 0) Evaluate(reporter);
                if (_step % _config.CheckpointEvery == 0) SaveCheckpoint(Checkpoint.LatestName);
            }
            if (_valLoss is null && _step > startStep) Evaluate(reporter);
            SaveCheckpoint(Checkpoint.LatestName);
            return new TrainingOutcome(TrainingEnd.Completed, _step, $"trained to step {_step}, best validation loss {_bestValLoss:F4}");
        }
        finally
        {
            _session.Stop();
        }
    }

    private double TrainStep(double lr)
    {
        // Only the demonstration option gets here with a step count to act on; the normal path keeps its one Adam.
        if (_config.RecreateOptimizerEvery is int every && _step > 0 && _step % every == 0) _learner.RecreateOptimizer();
        long started = Stopwatch.GetTimestamp();
        double loss = _learner.Step(lr);
        _valLoss = null;
        _lastLr = lr;
        _stepSeconds += Stopwatch.GetElapsedTime(started).TotalSeconds;
        _stepChars += _learner.Batches.CharactersPerBatch;
        return loss;
    }

    private void Evaluate(ITrainingReporter reporter)
    {
        // Once averaging has begun, the mean is what export writes, so it is what validation scores and
        // --keep-best compares; the trained weights come back bit for bit before the next step.
        bool averaged = _average.Count > 0;
        double valLoss;
        using (averaged ? _average.SwapIn() : null)
        {
            valLoss = Validation.Loss(_learner.Model, _data.Validation, _config.Batch, _config.SeqLen);
        }
        var record = new EvaluationRecord(
            _step,
            _learner.Batches.EpochProgress,
            _lastLr,
            _trainLossCount > 0 ? _trainLossSum / _trainLossCount : double.NaN,
            valLoss,
            _stepSeconds > 0 ? _stepChars / _stepSeconds : 0,
            ElapsedSeconds)
        {
            Averaged = averaged,
        };
        _metrics.Append(record);
        reporter.Evaluated(record);
        _plot.Update(reporter.Note);
        (_trainLossSum, _trainLossCount, _stepSeconds, _stepChars) = (0, 0, 0, 0);
        _valLoss = valLoss;
        if (valLoss < _bestValLoss)
        {
            _bestValLoss = valLoss;
            if (_config.KeepBest) SaveCheckpoint(Checkpoint.BestName);
        }
    }

    private TrainingOutcome Diverged(string divergence, double lr)
    {
        long step = _step + 1;
        _divergedAt.Add(step);
        var last = Checkpoint.Open(_directory).State.Step;
        string kept = $"The last good checkpoint (step {last}) is kept in {Path.Combine(_directory, Checkpoint.LatestName)}.";
        if (_divergedAt.Count > 1 && _divergedAt.All(s => s == step))
        {
            // A rollback replays the same batches, so a loss that blows up at the same step at every halving of the
            // rate is the text there, not the rate.
            return new TrainingOutcome(TrainingEnd.Diverged, _step,
                $"training diverged at step {step}: {divergence}. It diverged at this same step after each of {_divergedAt.Count - 1} rollbacks, " +
                $"though each halved the rate (now {lr:G3}): the text the run reads at that step, not the rate, is the likely cause. " +
                $"Look in the corpus for a stretch unlike the rest (another script or language, markup, encoded data). {kept}");
        }
        string retry = _config.OnDivergence == DivergenceAction.Rollback
            ? $"it diverged again after {_rollbacks} rollbacks that halved the rate each time"
            : $"train again into a new --out directory with --lr {_config.Lr / 10:G3}, or with --on-divergence rollback, which reloads the last checkpoint and halves the rate each time the loss diverges";
        return new TrainingOutcome(TrainingEnd.Diverged, _step,
            $"training diverged at step {step}: {divergence}. The learning rate ({lr:G3}) is the likely cause; {retry}. {kept}");
    }

    private void RollBack(string divergence, double lr, ITrainingReporter reporter)
    {
        long divergedAt = _step + 1;
        _divergedAt.Add(divergedAt);
        double scale = _lrScale / 2;
        int rollbacks = _rollbacks + 1;
        Restore(Checkpoint.Open(_directory), restoreOptimizer: true);
        (_lrScale, _rollbacks) = (scale, rollbacks);
        _metrics.TruncateAfter(_step);
        reporter.Note($"step {divergedAt}: {divergence} at learning rate {lr:G3}; rolled back to step {_step} and halved the rate (now {scale:G3} × schedule)");
    }

    private void Restore(Checkpoint checkpoint, bool restoreOptimizer)
    {
        var state = checkpoint.State;
        checkpoint.LoadModel(_learner.Model);
        if (restoreOptimizer) checkpoint.LoadOptimizer(_learner.Optimizer);
        checkpoint.LoadAverage(_average);
        checkpoint.RestoreTorchRandom();
        _learner.Carry(checkpoint.LoadHidden(_learner.Model, _config.Batch));
        _learner.Batches = new TruncatedBpttBatches(_data.Training, _config.Batch, _config.SeqLen, state.Cursor);
        _step = state.Step;
        _lrScale = state.LrScale;
        _rollbacks = state.Rollbacks;
        _guard = new DivergenceGuard(state.Guard);
        _bestValLoss = Math.Min(state.BestValLoss, BestCheckpointValLoss());
        _valLoss = state.ValLoss;
        _trainLossSum = state.TrainLossSum;
        _trainLossCount = state.TrainLossCount;
        (_stepSeconds, _stepChars) = (0, 0);
    }

    // DIR/best can be newer than the checkpoint restored (a rollback, a resume after a crash), and then the checkpoint's
    // best figure is out of date: a later, worse score would beat it and replace the better model in DIR/best.
    private double BestCheckpointValLoss()
    {
        string best = Path.Combine(_directory, Checkpoint.BestName);
        return _config.KeepBest && Checkpoint.Find(best) is not null ? Checkpoint.Open(best).State.BestValLoss : double.PositiveInfinity;
    }

    private void SaveCheckpoint(string name)
    {
        var state = new CheckpointState
        {
            TrainerVersion = Version,
            Config = _config,
            Vocabulary = _data.Vocabulary.Scalars.ToArray(),
            CorpusName = _corpus.Name,
            CorpusSha256 = _corpus.Sha256,
            Step = _step,
            ElapsedSeconds = ElapsedSeconds,
            Cursor = _learner.Batches.Cursor,
            LrScale = _lrScale,
            Rollbacks = _rollbacks,
            Guard = _guard.State,
            BestValLoss = _bestValLoss,
            ValLoss = _valLoss,
            TrainLossSum = _trainLossSum,
            TrainLossCount = _trainLossCount,
            AverageCount = _average.Count,
        };
        Checkpoint.Write(_directory, name, state, _learner.Model, _learner.Optimizer, _learner.Carried, _average);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _average.Dispose();
        _learner.Dispose();
        _lock.Dispose();
    }
}
