namespace TextGen.Trainer.Training;

/// <summary>When a training session stops: at a total step count or at a total training time.</summary>
/// <param name="UntilStep">Stop once this many steps are done; null when time-bounded.</param>
/// <param name="UntilSeconds">Stop once the run has trained this long in total; null when step-bounded.</param>
internal sealed record TrainingBudget(long? UntilStep, double? UntilSeconds)
{
    /// <summary>The budget of a new run: its --steps or --minutes.</summary>
    public static TrainingBudget ForTrain(TrainingConfig config) => new(config.Steps, config.Minutes * 60);

    /// <summary>
    /// The budget of a resumed session at <paramref name="step"/> after <paramref name="elapsedSeconds"/>:
    /// <paramref name="steps"/> or <paramref name="minutes"/> more, or, with neither, what is left of the run's
    /// original --steps or --minutes.
    /// </summary>
    public static TrainingBudget ForResume(TrainingConfig config, long step, double elapsedSeconds, long? steps, double? minutes) =>
        steps is long more ? new(step + more, null)
        : minutes is double extra ? new(null, elapsedSeconds + extra * 60)
        : ForTrain(config);

    /// <summary>True when nothing is left.</summary>
    public bool IsSpent(long step, double elapsedSeconds) => step >= UntilStep || elapsedSeconds >= UntilSeconds;

    /// <summary>Share of the budget used since the session started, 0 to 1, for progress bars.</summary>
    public double Fraction(long startStep, double startSeconds, long step, double elapsedSeconds)
    {
        double fraction = UntilStep is long until
            ? (double)(step - startStep) / Math.Max(1, until - startStep)
            : (elapsedSeconds - startSeconds) / Math.Max(1e-9, UntilSeconds!.Value - startSeconds);
        return Math.Clamp(fraction, 0, 1);
    }
}
