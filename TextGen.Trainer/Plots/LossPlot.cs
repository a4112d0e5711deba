using ScottPlot;
using TextGen.Trainer.Training;

namespace TextGen.Trainer.Plots;

/// <summary>The metrics of one run under the name its curves get in a legend.</summary>
/// <param name="Name">Legend name, e.g. the run directory's name.</param>
/// <param name="Records">Its metrics.jsonl lines, in step order.</param>
internal sealed record RunMetrics(string Name, IReadOnlyList<EvaluationRecord> Records);

/// <summary>
/// Training and validation loss against step, with the learning rate on a second axis at the right, drawn from
/// metrics.jsonl: DIR/loss.png of a run (redrawn at every validation, so it follows a live run) and the
/// <c>plot</c> command's overlay of several runs.
/// </summary>
internal sealed class LossPlot
{
    /// <summary>File name inside a run directory.</summary>
    public const string FileName = "loss.png";

    /// <summary>Image width in pixels.</summary>
    public const int Width = 900;

    /// <summary>Image height in pixels.</summary>
    public const int Height = 540;

    private readonly string _directory;
    private readonly MetricsLog _metrics;
    private readonly PlotWriter _writer;

    /// <summary>The plot of the run in <paramref name="runDirectory"/>.</summary>
    public LossPlot(string runDirectory, PlotWriter writer)
    {
        _directory = runDirectory;
        _metrics = new MetricsLog(runDirectory);
        _writer = writer;
    }

    /// <summary>Redraws DIR/loss.png from everything metrics.jsonl holds now.</summary>
    /// <param name="note">Told once if plotting turns off.</param>
    public void Update(Action<string> note)
    {
        if (!_writer.Enabled) return;
        var run = new RunMetrics(Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(_directory))), _metrics.Read());
        _writer.TrySave(Path.Combine(_directory, FileName), Width, Height, () => Draw([run]), note);
    }

    /// <summary>
    /// One plot of <paramref name="runs"/>: per run, validation loss (solid, with markers), training loss (dashed;
    /// the mean since the previous validation) and learning rate (dotted, right axis), all in the run's colour.
    /// </summary>
    public static Plot Draw(IReadOnlyList<RunMetrics> runs)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        bool single = runs.Count == 1;
        for (int i = 0; i < runs.Count; i++)
        {
            var run = runs[i];
            string prefix = single ? "" : run.Name + " ";
            var steps = run.Records.Select(r => (double)r.Step).ToArray();
            Curve(plot, steps, run.Records.Select(r => r.TrainLoss), prefix + "train", single ? palette.GetColor(0) : palette.GetColor(i), LinePattern.Dashed, markers: false);
            Curve(plot, steps, run.Records.Select(r => r.ValLoss), prefix + "validation", single ? palette.GetColor(1) : palette.GetColor(i), LinePattern.Solid, markers: true);
            var lr = Curve(plot, steps, run.Records.Select(r => r.Lr), prefix + "learning rate", single ? Colors.Gray : palette.GetColor(i), LinePattern.Dotted, markers: false);
            lr.Axes.YAxis = plot.Axes.Right;
        }
        plot.Title(single ? runs[0].Name : "validation solid, training dashed, lr dotted (right)");
        plot.XLabel("step");
        plot.YLabel("loss (nats per character)");
        plot.Axes.Right.Label.Text = "learning rate";
        // From zero, so a constant rate is a line near the top rather than the middle of a made-up range around it.
        double highestLr = runs.SelectMany(r => r.Records).Select(r => r.Lr).DefaultIfEmpty(0).Max();
        if (highestLr > 0) plot.Axes.SetLimitsY(0, highestLr * 1.1, plot.Axes.Right);
        // Several runs need a long legend; beside the plot it never hides a curve.
        if (single) plot.ShowLegend(Alignment.UpperRight);
        else plot.ShowLegend(Edge.Right);
        return plot;
    }

    // JSON has no NaN, so a diverged loss was written as null and read back as NaN; it is left out of the curve.
    private static ScottPlot.Plottables.Scatter Curve(Plot plot, double[] steps, IEnumerable<double> values, string label, Color color, LinePattern pattern, bool markers)
    {
        var points = steps.Zip(values).Where(p => double.IsFinite(p.Second)).ToArray();
        var curve = plot.Add.Scatter(points.Select(p => p.First).ToArray(), points.Select(p => p.Second).ToArray(), color);
        curve.LegendText = label;
        curve.LinePattern = pattern;
        curve.LineWidth = 2;
        curve.MarkerSize = markers ? 5 : 0;
        return curve;
    }
}
