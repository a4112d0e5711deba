namespace TextGen.Trainer.Training;

/// <summary>The learning rate of every step, from the config alone, so a resumed run gets the same rates.</summary>
internal sealed class LearningRateSchedule
{
    private readonly TrainingConfig _config;

    /// <summary>Creates the schedule of <paramref name="config"/>.</summary>
    public LearningRateSchedule(TrainingConfig config) => _config = config;

    /// <summary>The rate of the update made at 0-based <paramref name="step"/>.</summary>
    public double At(long step)
    {
        double lr = _config.Lr;
        switch (_config.Schedule)
        {
            case ScheduleKind.Cosine:
                // As nanoGPT: warm up linearly (Adam's early moment estimates are noisy), then follow a half
                // cosine to lr/10 at the last step and stay there if a resume trains past it.
                long warmup = _config.WarmupSteps(), total = _config.Steps ?? throw new InvalidOperationException("the cosine schedule needs a step count");
                if (step < warmup) return lr * (step + 1) / warmup;
                // With one step after the warmup, that step is the last one, and the last one is at the floor.
                long span = total - 1 - warmup;
                double progress = span <= 0 ? 1.0 : Math.Min(1.0, (double)(step - warmup) / span);
                double floor = lr / 10;
                return floor + 0.5 * (1 + Math.Cos(Math.PI * progress)) * (lr - floor);
            case ScheduleKind.Step:
                return lr * Math.Pow(_config.DecayFactor, step / _config.DecayEvery);
            default:
                return lr;
        }
    }
}
