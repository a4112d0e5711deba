using System.Globalization;
using System.Text;
using TextGen.Runtime.Format;

namespace TextGen.Trainer.Training;

/// <summary>One step of a learning-rate range test.</summary>
/// <param name="Lr">The step's learning rate.</param>
/// <param name="Loss">Its training loss (nats per character), measured before its update.</param>
/// <param name="SmoothedLoss">The bias-corrected moving average of the losses so far.</param>
internal readonly record struct LearningRatePoint(double Lr, double Loss, double SmoothedLoss);

/// <summary>
/// The record of a learning-rate range test (Leslie Smith's LR range test, as fast.ai's lr_find): the rate grows
/// exponentially from <see cref="StartLr"/> to <see cref="EndLr"/> over the sweep's steps; each loss goes into an
/// exponential moving average with bias correction; the sweep diverges at the first rate whose smoothed loss is
/// more than <see cref="DivergenceFactor"/> times the lowest so far (or whose loss is not finite). The suggestion
/// is the rate at the lowest smoothed loss divided by ten.
/// </summary>
/// <remarks>
/// Why a tenth of the minimum, not the steepest descent: the loss at the minimum has already stopped improving,
/// because the rate is close to too high, so a tenth is safely inside the working range; and a minimum of a
/// smoothed curve barely moves with noise, where the slope of a noisy curve jumps from step to step (on small
/// batches the steepest point lands anywhere on the descent).
/// </remarks>
internal sealed class LearningRateSweep
{
    /// <summary>The first step's rate.</summary>
    public const double StartLr = 1e-6;

    /// <summary>The last step's rate.</summary>
    public const double EndLr = 1;

    /// <summary>A sweep is over once its smoothed loss exceeds this many times its minimum.</summary>
    public const double DivergenceFactor = 4;

    /// <summary>The suggestion is the rate at the minimum smoothed loss divided by this.</summary>
    public const double SuggestionDivisor = 10;

    /// <summary>
    /// β, the weight of the past in the moving average. It averages about ten steps: enough to calm the noise of
    /// one batch, short enough that over a 100-step sweep (six decades) the curve lags the rate by about half a
    /// decade rather than fast.ai's three (β = 0.98).
    /// </summary>
    public const double Smoothing = 0.9;

    /// <summary>CSV file name inside the output directory.</summary>
    public const string CsvFileName = "lr_find.csv";

    private readonly List<LearningRatePoint> _points = [];
    private double _average; // the moving average before bias correction
    private int _minimumIndex = -1;

    /// <summary>An empty sweep of <paramref name="steps"/> steps (at least 2).</summary>
    public LearningRateSweep(int steps)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 2);
        Steps = steps;
    }

    /// <summary>Steps of the whole sweep.</summary>
    public int Steps { get; }

    /// <summary>The steps recorded so far.</summary>
    public IReadOnlyList<LearningRatePoint> Points => _points;

    /// <summary>The rate of 0-based step <paramref name="step"/>: exponential from <see cref="StartLr"/> to <see cref="EndLr"/>.</summary>
    public double RateAt(int step) => StartLr * Math.Pow(EndLr / StartLr, (double)step / (Steps - 1));

    /// <summary>The rate of the next step to record.</summary>
    public double NextLr => RateAt(_points.Count);

    /// <summary>The rate at which the sweep diverged; null while (or if) it has not.</summary>
    public double? DivergedAtLr { get; private set; }

    /// <summary>True once every step is recorded or the sweep diverged.</summary>
    public bool IsOver => DivergedAtLr is not null || _points.Count == Steps;

    /// <summary>The rate at the lowest smoothed loss so far.</summary>
    /// <exception cref="InvalidOperationException">No finite loss was recorded.</exception>
    public double MinimumLr => _minimumIndex >= 0
        ? _points[_minimumIndex].Lr
        : throw new InvalidOperationException("the sweep has no finite loss to suggest a rate from");

    /// <summary><see cref="MinimumLr"/> divided by <see cref="SuggestionDivisor"/>, never below <see cref="StartLr"/>.</summary>
    /// <exception cref="InvalidOperationException">No finite loss was recorded.</exception>
    public double SuggestedLr => Math.Max(StartLr, MinimumLr / SuggestionDivisor);

    /// <summary>Records the loss of the step at <see cref="NextLr"/>.</summary>
    public void Record(double loss)
    {
        if (IsOver) throw new InvalidOperationException("the sweep is over");
        double lr = NextLr;
        if (!double.IsFinite(loss))
        {
            _points.Add(new LearningRatePoint(lr, loss, double.NaN));
            DivergedAtLr = lr;
            return;
        }
        _average = Smoothing * _average + (1 - Smoothing) * loss;
        // The average starts at 0, so its first values are too small by the factor 1 − β^n (Adam's bias correction).
        double smoothed = _average / (1 - Math.Pow(Smoothing, _points.Count + 1));
        _points.Add(new LearningRatePoint(lr, loss, smoothed));
        if (_minimumIndex < 0 || smoothed < _points[_minimumIndex].SmoothedLoss) _minimumIndex = _points.Count - 1;
        else if (smoothed > DivergenceFactor * _points[_minimumIndex].SmoothedLoss) DivergedAtLr = lr;
    }

    /// <summary>Writes <c>lr,loss,smoothed_loss</c> lines, atomically (a temporary file renamed into place).</summary>
    public void WriteCsv(string path)
    {
        var text = new StringBuilder("lr,loss,smoothed_loss\n");
        foreach (var p in _points) text.Append(CultureInfo.InvariantCulture, $"{p.Lr:R},{p.Loss:R},{p.SmoothedLoss:R}\n");
        ModelFileStorage.WriteFileAtomically(path, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(text.ToString()));
    }
}
