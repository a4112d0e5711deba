using System.CommandLine;
using System.Globalization;
using TextGen.Runtime.Format;
using TextGen.Trainer.Checkpoints;
using TextGen.Trainer.Data;
using TextGen.Trainer.Export;
using TextGen.Trainer.Plots;
using TextGen.Trainer.Training;
using static TextGen.Trainer.Cli.TrainerCommandLine;

namespace TextGen.Trainer.Cli;

/// <summary>The <c>train</c>, <c>resume</c> and <c>lr-find</c> commands: options, checks, and the session they run.</summary>
internal static class TrainingCommands
{
    private const string AutoLr = "auto";

    private static readonly TrainingConfig Defaults = TrainingConfig.Defaults;

    /// <summary><c>train --corpus PATH --out DIR [options]</c>.</summary>
    public static Command Train(TextWriter output, CancellationToken cancel)
    {
        var model = new ModelOptions("New run directory: checkpoints, metrics.jsonl, loss.png, model.tgm");
        var lr = new Option<string>("--lr")
        {
            Description = $"Adam learning rate, or {AutoLr}: run the learning-rate range test first (DIR/lr_find.*) and train at its suggestion",
            DefaultValueFactory = _ => Defaults.Lr.ToString(CultureInfo.InvariantCulture),
            HelpName = "X|auto",
        };
        var schedule = Choice("--schedule", "Learning-rate schedule: constant; cosine (linear warmup, then down to lr/10); step (times --decay-factor every --decay-every steps)",
            Defaults.Schedule.ToString().ToLowerInvariant(), "constant", "cosine", "step");
        var warmup = new Option<int?>("--warmup") { Description = "Warmup steps of the cosine schedule [default: a tenth of --steps, at most 100]", HelpName = "N" };
        var decayEvery = Number("--decay-every", "Steps between decays of the step schedule", Defaults.DecayEvery);
        var decayFactor = Number("--decay-factor", "Factor of each decay of the step schedule", Defaults.DecayFactor);
        var steps = new Option<long?>("--steps") { Description = $"Steps to train [default: {Defaults.Steps}]", HelpName = "N" };
        var minutes = new Option<double?>("--minutes") { Description = "Train for this many minutes instead of --steps", HelpName = "M" };
        var evalEvery = Number("--eval-every", "Steps between validations on the whole validation split", Defaults.EvalEvery);
        var checkpointEvery = Number("--checkpoint-every", "Steps between checkpoints", Defaults.CheckpointEvery);
        var keepBest = new Option<bool>("--keep-best") { Description = "Keep the best-validation checkpoint in DIR/best and export model.tgm from it" };
        var onDivergence = Choice("--on-divergence", "stop: end the run naming the learning rate; rollback: reload the last checkpoint and halve the rate",
            "stop", "stop", "rollback");
        var recreateOptimizer = new Option<int?>("--recreate-optimizer-every")
        {
            Description = "Replace Adam by a fresh one every K steps, discarding its moments and bias correction: the blog's mistake, kept only to demonstrate it (docs/learning-rates.md measures what it does).",
            HelpName = "K",
        };
        var averageFrom = new Option<long?>("--average-from")
        {
            Description = "From this step on, keep the running mean of the weights; validation, --keep-best and model.tgm use it [default: off]",
            HelpName = "STEP",
        };

        var command = new Command("train", "Train a new model; writes DIR/model.tgm at the end.");
        model.AddTo(command);
        foreach (Option option in new Option[] { lr, schedule, warmup, decayEvery, decayFactor, steps, minutes, evalEvery, checkpointEvery, keepBest, onDivergence, recreateOptimizer, averageFrom })
        {
            command.Options.Add(option);
        }
        command.SetAction(parse =>
        {
            long? stepCount = parse.GetValue(steps);
            double? minuteCount = parse.GetValue(minutes);
            if (stepCount is not null && minuteCount is not null) throw new UsageException("give either --steps or --minutes, not both");
            string lrText = parse.GetRequiredValue(lr);
            bool auto = lrText == AutoLr;
            var config = model.Read(parse) with
            {
                Lr = auto ? Defaults.Lr : ParseLr(lrText),
                Schedule = Enum.Parse<ScheduleKind>(parse.GetRequiredValue(schedule), ignoreCase: true),
                Warmup = parse.GetValue(warmup),
                DecayEvery = parse.GetValue(decayEvery),
                DecayFactor = parse.GetValue(decayFactor),
                Steps = minuteCount is null ? stepCount ?? Defaults.Steps : null,
                Minutes = minuteCount,
                EvalEvery = parse.GetValue(evalEvery),
                CheckpointEvery = parse.GetValue(checkpointEvery),
                KeepBest = parse.GetValue(keepBest),
                OnDivergence = Enum.Parse<DivergenceAction>(parse.GetRequiredValue(onDivergence), ignoreCase: true),
                RecreateOptimizerEvery = parse.GetValue(recreateOptimizer),
                AverageFrom = parse.GetValue(averageFrom),
            };
            var problems = config.Problems();
            if (problems.Count > 0) throw new UsageException(string.Join(Environment.NewLine, problems));
            if (config.AverageFrom is long from && config.Steps is long total && from >= total)
            {
                throw new UsageException($"--average-from {from} is not below --steps {total}, so no step would be averaged");
            }
            return Start(config, auto, model.ReadOut(parse), output, cancel);
        });
        return command;
    }

    private static double ParseLr(string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double lr)
            ? lr
            : throw new UsageException($"--lr must be a number or {AutoLr} (got {text})");

    private static int Start(TrainingConfig config, bool autoLr, string directory, TextWriter output, CancellationToken cancel)
    {
        if (File.Exists(directory)) throw new UsageException($"--out {directory} is a file; give a directory for the run");
        if (Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any())
        {
            throw new UsageException($"--out {directory} already exists and is not empty; continue it with `resume {directory}` or choose a new directory");
        }
        var corpus = Corpus.Load(config.Corpus);
        // Recorded whole, so that `resume` finds the text from any working directory.
        config = config with { Corpus = Path.GetFullPath(config.Corpus) };

        bool created = !Directory.Exists(directory);
        var plots = new PlotWriter();
        Directory.CreateDirectory(directory);
        // Taken before anything is written, the range test included: a second `train` of the same new directory
        // that started at the same moment stops here, and never deletes the directory the first one is training in.
        var runLock = RunLock.Take(directory);
        TrainingRun run;
        try
        {
            if (autoLr)
            {
                var sweep = RangeTest(config, corpus, directory, LearningRateFinder.DefaultSteps, plots, output, cancel);
                // The suggestion becomes the run's --lr, so checkpoints, a resume and the exported metadata all
                // carry the number, and nothing ever runs the test again.
                config = config with { Lr = sweep.SuggestedLr };
                var problems = config.Problems(); // --weight-decay is checked against the rate it will meet
                if (problems.Count > 0) throw new UsageException(string.Join(Environment.NewLine, problems));
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"--lr auto: training at {config.Lr:G3}, the range test's suggestion (the curve is in {Path.Combine(directory, LearningRatePlot.FileName)})"));
            }
            run = TrainingRun.Start(config, corpus, directory, plots, runLock);
        }
        catch
        {
            runLock.Dispose();
            // Nothing half-written: a run that could not write its first checkpoint leaves no directory behind, and
            // the empty --out it was given loses the lock file again.
            if (created) Directory.Delete(directory, recursive: true);
            else File.Delete(Path.Combine(directory, RunLock.FileName));
            throw;
        }
        using (run)
        {
            if (config.RecreateOptimizerEvery is int every) output.WriteLine($"warning: --recreate-optimizer-every {every} discards Adam's moment estimates and step counts every {every} steps; this reproduces the blog's mistake");
            output.WriteLine($"training {ModelFileSchema.CellName(config.Arch)} {config.Layers}x{config.Hidden} on {corpus.Name} ({corpus.Scalars.Length} characters, {run.Model.Architecture.VocabularySize} symbols, {run.Model.Architecture.ParameterCount()} parameters) into {directory}");
            return Finish(run, TrainingBudget.ForTrain(config), directory, output, cancel);
        }
    }

    /// <summary><c>lr-find --corpus PATH --out DIR [--steps N] [model options]</c>; the last stdout line is JSON.</summary>
    public static Command FindLearningRate(TextWriter output, CancellationToken cancel)
    {
        var model = new ModelOptions("Directory for lr_find.csv and lr_find.png (created if missing)");
        var steps = Number("--steps", $"Steps of the sweep from {LearningRateSweep.StartLr:G1} to {LearningRateSweep.EndLr:G1}", LearningRateFinder.DefaultSteps);
        var command = new Command("lr-find", "Learning-rate range test: train a fresh model at exponentially growing rates and suggest one.");
        model.AddTo(command);
        command.Options.Add(steps);
        command.SetAction(parse =>
        {
            int count = parse.GetValue(steps);
            if (count < 10 || count > 100_000) throw new UsageException($"--steps must be between 10 and 100000 (got {count})");
            var config = model.Read(parse);
            var problems = config.Problems();
            if (problems.Count > 0) throw new UsageException(string.Join(Environment.NewLine, problems));
            string directory = model.ReadOut(parse);
            if (File.Exists(directory)) throw new UsageException($"--out {directory} is a file; give a directory");
            if (Directory.Exists(Path.Combine(directory, Checkpoint.LatestName)))
            {
                // Its lr_find files, if any, record how `train --lr auto` chose the run's rate: not ours to replace.
                throw new UsageException($"--out {directory} holds a training run; give lr-find a directory of its own");
            }

            var corpus = Corpus.Load(config.Corpus);
            Directory.CreateDirectory(directory);
            var sweep = RangeTest(config, corpus, directory, count, new PlotWriter(), output, cancel);
            output.WriteLine(Json(json =>
            {
                json.WriteNumber("suggested_lr", sweep.SuggestedLr);
                if (sweep.DivergedAtLr is double diverged) json.WriteNumber("diverged_at_lr", diverged);
                else json.WriteNull("diverged_at_lr");
            }));
            return Ok;
        });
        return command;
    }

    // The range test with its files and its report, shared by lr-find and train --lr auto.
    private static LearningRateSweep RangeTest(TrainingConfig config, Corpus corpus, string directory, int steps, PlotWriter plots, TextWriter output, CancellationToken cancel)
    {
        var data = TrainingData.Split(corpus, config.ValFraction, config.Batch, config.SeqLen);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"learning-rate range test: {steps} steps from {LearningRateSweep.StartLr:G1} to {LearningRateSweep.EndLr:G1} on {corpus.Name}, {ModelFileSchema.CellName(config.Arch)} {config.Layers}x{config.Hidden}"));
        int every = Math.Max(1, steps / 10);
        var sweep = LearningRateFinder.Run(config, data, steps, progress =>
        {
            if (progress.Points.Count % every != 0 && !progress.IsOver) return;
            var point = progress.Points[^1];
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  step {progress.Points.Count,5} | lr {point.Lr,9:G3} | loss {point.Loss,7:F4} | smoothed {point.SmoothedLoss,7:F4}"));
        }, cancel);

        sweep.WriteCsv(Path.Combine(directory, LearningRateSweep.CsvFileName));
        plots.TrySave(Path.Combine(directory, LearningRatePlot.FileName), LossPlot.Width, LossPlot.Height, () => LearningRatePlot.Draw(sweep), output.WriteLine);
        string divergence = sweep.DivergedAtLr is double d ? string.Create(CultureInfo.InvariantCulture, $"diverged at lr {d:G3}") : "did not diverge";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"lowest smoothed loss at lr {sweep.MinimumLr:G3}; suggested lr {sweep.SuggestedLr:G3} (a tenth of that); {divergence}"));
        return sweep;
    }

    /// <summary><c>resume DIR [--steps N | --minutes M] [--reset-optimizer]</c>.</summary>
    public static Command Resume(TextWriter output, CancellationToken cancel)
    {
        var directory = new Argument<string>("DIR") { Description = "Run directory written by train" };
        var steps = new Option<long?>("--steps") { Description = "Train this many more steps (default: up to the run's original --steps or --minutes)", HelpName = "N" };
        var minutes = new Option<double?>("--minutes") { Description = "Train this many more minutes", HelpName = "M" };
        var resetOptimizer = new Option<bool>("--reset-optimizer")
        {
            Description = "Start a fresh Adam instead of restoring its state: the blog's mistake, kept only to demonstrate it. The run is then no longer the one that never stopped (docs/learning-rates.md measures the difference).",
        };
        var corpus = new Option<string>("--corpus")
        {
            Description = "The run's corpus, moved since train read it; it must be the same text (its sha256 is checked) [default: where train read it]",
            HelpName = "PATH",
        };
        var command = new Command("resume", "Continue a run from its latest checkpoint, bit-identically.") { directory, steps, minutes, resetOptimizer, corpus };
        command.SetAction(parse =>
        {
            long? more = parse.GetValue(steps);
            double? extra = parse.GetValue(minutes);
            if (more is not null && extra is not null) throw new UsageException("give either --steps or --minutes, not both");
            if (more is < 1) throw new UsageException($"--steps must be at least 1 (got {more})");
            if (extra is double m && (!double.IsFinite(m) || m <= 0)) throw new UsageException($"--minutes must be a finite number above 0 (got {m})");

            string dir = parse.GetRequiredValue(directory);
            bool reset = parse.GetValue(resetOptimizer);
            using var run = TrainingRun.Resume(dir, reset, parse.GetValue(corpus));
            if (reset) output.WriteLine("warning: --reset-optimizer discards Adam's moment estimates and step counts; this reproduces the blog's mistake");
            output.WriteLine($"resuming {dir} at step {run.Step}");
            return Finish(run, TrainingBudget.ForResume(run.Config, run.Step, run.ElapsedSeconds, more, extra), dir, output, cancel);
        });
        return command;
    }

    private static int Finish(TrainingRun run, TrainingBudget budget, string directory, TextWriter output, CancellationToken cancel)
    {
        var outcome = TrainingConsole.Run(output, Math.Max(1, run.Config.EvalEvery / 5), reporter => run.Train(budget, reporter, cancel));
        if (outcome.End == TrainingEnd.Diverged) throw new TrainingDivergedException(outcome.Message);
        output.WriteLine(outcome.Message);
        if (outcome.End == TrainingEnd.Completed)
        {
            string best = Path.Combine(directory, Checkpoint.BestName);
            string source = run.Config.KeepBest && Checkpoint.Find(best) is not null ? best : directory;
            string model = Path.Combine(directory, TrainingRun.ModelFileName);
            WriteOutput(model, ModelExporter.FromCheckpoint(Checkpoint.Open(source)).WriteFile);
            output.WriteLine($"wrote {model}");
        }
        return Ok;
    }
}
