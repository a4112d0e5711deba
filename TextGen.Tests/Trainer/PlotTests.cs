using TextGen.Runtime.Format;
using TextGen.Trainer.Data;
using TextGen.Trainer.Plots;
using TextGen.Trainer.Training;

namespace TextGen.Tests.Trainer;

public sealed class PlotTests : TinyTrainingFixture
{
    private protected override TrainingConfig Configure(TrainingConfig tiny) => tiny with { Steps = 20 };

    [Test]
    public void EveryValidationRedrawsLossPngAndPlottingWorksHere()
    {
        var plots = new PlotWriter();
        string directory = Sandbox.PathOf("run");
        using var run = TrainingRun.Start(Config, Corpus.Load(Config.Corpus), directory, plots);
        string png = Path.Combine(directory, LossPlot.FileName);
        var reporter = new RecordingReporter();

        run.Train(new TrainingBudget(10, null), reporter, CancellationToken.None);
        var afterOne = File.ReadAllBytes(png);
        run.Train(new TrainingBudget(20, null), reporter, CancellationToken.None);

        using (Assert.EnterMultipleScope())
        {
            // This machine has SkiaSharp's native library: plotting must work here, not quietly switch off.
            Assert.That(plots.Enabled, Is.True);
            Assert.That(reporter.Notes.Where(n => n.Contains("plots are off")), Is.Empty);
            Assert.That(PngImage.AssertValid(png), Is.EqualTo((LossPlot.Width, LossPlot.Height)));
            Assert.That(File.ReadAllBytes(png), Is.Not.EqualTo(afterOne), "redrawn with the second validation");
        }
    }

    [Test]
    public void ANativeLibraryThatCannotLoadTurnsPlottingOffWithOneNote()
    {
        var plots = new PlotWriter();
        var notes = new List<string>();
        int draws = 0;
        ScottPlot.Plot Missing() => throw new TypeInitializationException("SkiaSharp.SKObject", new DllNotFoundException($"libSkiaSharp.so: cannot open shared object file (draw {++draws})"));
        string png = Sandbox.PathOf("never.png");

        bool first = plots.TrySave(png, 100, 100, Missing, notes.Add);
        bool second = plots.TrySave(png, 100, 100, Missing, notes.Add);

        // The run that follows gets the same writer (as after train --lr auto's range test) and says nothing more.
        string directory = Sandbox.PathOf("run");
        using var run = TrainingRun.Start(Config, Corpus.Load(Config.Corpus), directory, plots);
        var reporter = new RecordingReporter();
        var outcome = run.Train(new TrainingBudget(20, null), reporter, CancellationToken.None);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((first, second, plots.Enabled), Is.EqualTo((false, false, false)));
            Assert.That(draws, Is.EqualTo(1), "not retried");
            Assert.That(notes, Has.Count.EqualTo(1));
            Assert.That(notes[0], Does.StartWith("plots are off").And.Contain("libSkiaSharp.so: cannot open shared object file"));
            Assert.That(File.Exists(png), Is.False);
            Assert.That(outcome.End, Is.EqualTo(TrainingEnd.Completed), "training goes on");
            Assert.That(reporter.Notes, Is.Empty, "said once, by the first plot");
            Assert.That(File.Exists(Path.Combine(directory, LossPlot.FileName)), Is.False);
        }
    }

    [Test]
    public void APngThatCannotBeWrittenIsReportedAndTrainingGoesOn()
    {
        var plots = new PlotWriter();
        string directory = Sandbox.PathOf("run");
        using var run = TrainingRun.Start(Config, Corpus.Load(Config.Corpus), directory, plots);
        // A directory where the picture should go: the rename onto it fails at every validation.
        Directory.CreateDirectory(Path.Combine(directory, LossPlot.FileName));
        var reporter = new RecordingReporter();
        var outcome = run.Train(new TrainingBudget(20, null), reporter, CancellationToken.None);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(outcome.End, Is.EqualTo(TrainingEnd.Completed));
            Assert.That(reporter.Evaluations, Has.Count.EqualTo(2));
            Assert.That(reporter.Notes, Has.Count.EqualTo(2).And.All.StartWith(Path.Combine(directory, LossPlot.FileName) + ": cannot be written: "));
            Assert.That(plots.Enabled, Is.True, "a file problem is not a missing library");
            Assert.That(ModelFileStorage.TemporariesOf(Path.Combine(directory, LossPlot.FileName)), Is.Empty, "each failed write deleted its temporary file");
        }
    }

    [Test]
    public void SavingReplacesTheFileAtomically()
    {
        var plots = new PlotWriter();
        string png = Sandbox.PathOf("plot.png");
        File.WriteAllText(png, "an older picture");
        var sweep = new LearningRateSweep(20);
        for (int i = 0; i < 20; i++) sweep.Record(3 - 0.05 * i);

        Assert.That(plots.TrySave(png, 320, 200, () => LearningRatePlot.Draw(sweep), _ => Assert.Fail("plotting works here")), Is.True);
        Assert.That(PngImage.AssertValid(png), Is.EqualTo((320, 200)));
        Assert.That(Directory.GetFiles(Sandbox.Root).Select(Path.GetFileName), Is.EquivalentTo(new[] { "corpus.txt", "plot.png" }));
    }
}
