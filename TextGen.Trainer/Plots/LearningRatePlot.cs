using System.Globalization;
using ScottPlot;
using TextGen.Trainer.Training;

namespace TextGen.Trainer.Plots;

/// <summary>
/// lr_find.png: the range test's loss against the learning rate on a log scale, raw and smoothed, with the
/// suggestion and the divergence point marked.
/// </summary>
internal static class LearningRatePlot
{
    /// <summary>File name inside the output directory.</summary>
    public const string FileName = "lr_find.png";

    /// <summary>The plot of <paramref name="sweep"/>.</summary>
    public static Plot Draw(LearningRateSweep sweep)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        // ScottPlot has no logarithmic axis: x is log10(lr), and the tick labels turn it back into rates. A
        // non-finite loss ends a sweep; it stays off the plot so the axis fits the finite ones.
        var points = sweep.Points.Where(p => double.IsFinite(p.Loss)).ToArray();
        var x = points.Select(p => Math.Log10(p.Lr)).ToArray();
        var raw = plot.Add.Scatter(x, points.Select(p => p.Loss).ToArray(), palette.GetColor(7));
        raw.LegendText = "loss";
        raw.MarkerSize = 0;
        raw.LineWidth = 1;
        var smoothed = plot.Add.Scatter(x, points.Select(p => p.SmoothedLoss).ToArray(), palette.GetColor(0));
        smoothed.LegendText = "smoothed loss";
        smoothed.MarkerSize = 0;
        smoothed.LineWidth = 2;

        var suggested = plot.Add.VerticalLine(Math.Log10(sweep.SuggestedLr), 2, palette.GetColor(2));
        suggested.LegendText = string.Create(CultureInfo.InvariantCulture, $"suggested {sweep.SuggestedLr:G3}");
        if (sweep.DivergedAtLr is double diverged)
        {
            var line = plot.Add.VerticalLine(Math.Log10(diverged), 2, palette.GetColor(3));
            line.LinePattern = LinePattern.Dashed;
            line.LegendText = string.Create(CultureInfo.InvariantCulture, $"diverged at {diverged:G3}");
        }

        var ticks = new ScottPlot.TickGenerators.NumericAutomatic
        {
            IntegerTicksOnly = true,
            LabelFormatter = exponent => Math.Pow(10, exponent).ToString("G1", CultureInfo.InvariantCulture),
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
        };
        plot.Axes.Bottom.TickGenerator = ticks;
        // The last losses before the divergence stop can be many times the rest; the smoothed curve sets the scale.
        if (points.Length > 0)
        {
            plot.Axes.SetLimitsY(points.Min(p => Math.Min(p.Loss, p.SmoothedLoss)) * 0.95, points.Max(p => p.SmoothedLoss) * 1.1);
        }
        plot.Title("learning-rate range test");
        plot.XLabel("learning rate (log scale)");
        plot.YLabel("training loss (nats per character)");
        plot.ShowLegend(Alignment.UpperLeft);
        return plot;
    }
}
