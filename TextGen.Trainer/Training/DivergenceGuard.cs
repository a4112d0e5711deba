namespace TextGen.Trainer.Training;

/// <summary>What the guard has seen so far; stored in checkpoints so a resume judges the same way.</summary>
/// <param name="Smoothed">Exponential moving average of the training loss; NaN before the first step.</param>
/// <param name="Minimum">Lowest value the moving average has had.</param>
internal readonly record struct DivergenceState(double Smoothed, double Minimum)
{
    /// <summary>The state before any loss was seen.</summary>
    public static DivergenceState Initial => new(double.NaN, double.PositiveInfinity);
}

/// <summary>
/// Catches a run that is blowing up: a non-finite loss, or a smoothed loss far above the lowest it has been.
/// Too high a learning rate is the usual cause (the blog's 0.01 against 0.002); noise alone never doubles a
/// smoothed cross-entropy, so the margin is the larger of the minimum itself and one nat.
/// </summary>
internal sealed class DivergenceGuard
{
    private const double Smoothing = 0.1; // weight of the newest loss in the moving average

    /// <summary>Starts from <paramref name="state"/>.</summary>
    public DivergenceGuard(DivergenceState state) => State = state;

    /// <summary>The moving average and its minimum.</summary>
    public DivergenceState State { get; private set; }

    /// <summary>Records the loss of a step; returns why the run diverged, or null while it is healthy.</summary>
    public string? Observe(double loss)
    {
        if (!double.IsFinite(loss)) return $"the loss is {loss}";
        double smoothed = double.IsNaN(State.Smoothed) ? loss : (1 - Smoothing) * State.Smoothed + Smoothing * loss;
        double minimum = Math.Min(State.Minimum, smoothed);
        State = new DivergenceState(smoothed, minimum);
        return smoothed > minimum + Math.Max(minimum, 1.0)
            ? $"the smoothed loss {smoothed:F3} is far above its running minimum {minimum:F3}"
            : null;
    }
}
