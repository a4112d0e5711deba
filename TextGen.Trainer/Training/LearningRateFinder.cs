using TextGen.Trainer.Data;

namespace TextGen.Trainer.Training;

/// <summary>
/// Runs a learning-rate range test: a fresh model and a fresh Adam, exactly as a run of the same config starts,
/// trained one step per rate of a <see cref="LearningRateSweep"/> until it is over. Nothing is saved: the model is
/// thrown away, and the training run that follows starts again from the same seed.
/// </summary>
internal static class LearningRateFinder
{
    /// <summary>Steps of a sweep unless told otherwise: about 17 per decade, half a minute for the default model.</summary>
    public const int DefaultSteps = 100;

    /// <summary>Sweeps <paramref name="steps"/> rates on <paramref name="data"/> with <paramref name="config"/>'s model, batch and seed.</summary>
    /// <param name="config">Model, data and seed options; its learning rate and schedule are ignored.</param>
    /// <param name="data">The encoded corpus; only the training split is read.</param>
    /// <param name="steps">Steps of the sweep, at least 2.</param>
    /// <param name="stepped">Told after each step, for progress.</param>
    /// <param name="cancel">Stops the sweep between steps.</param>
    /// <exception cref="OperationCanceledException"><paramref name="cancel"/> fired before the sweep was over.</exception>
    public static LearningRateSweep Run(TrainingConfig config, TrainingData data, int steps, Action<LearningRateSweep> stepped, CancellationToken cancel)
    {
        var sweep = new LearningRateSweep(steps);
        using var learner = new Learner(config, data);
        while (!sweep.IsOver)
        {
            if (cancel.IsCancellationRequested)
            {
                throw new OperationCanceledException($"the learning-rate range test was interrupted after {sweep.Points.Count} of {steps} steps; nothing was trained");
            }
            sweep.Record(learner.Step(sweep.NextLr));
            stepped(sweep);
        }
        return sweep;
    }
}
