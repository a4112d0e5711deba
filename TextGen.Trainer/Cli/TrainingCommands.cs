using System.CommandLine;
using TextGen.Runtime.Format;
using TextGen.Trainer.Checkpoints;
using TextGen.Trainer.Data;
using TextGen.Trainer.Export;
using TextGen.Trainer.Training;
using static TextGen.Trainer.Cli.TrainerCommandLine;

namespace TextGen.Trainer.Cli;

/// <summary>The <c>train</c> and <c>resume</c> commands: options, checks, and the session they run.</summary>
internal static class TrainingCommands
{
    private static readonly TrainingConfig Defaults = TrainingConfig.Defaults;

    /// <summary><c>train --corpus PATH --out DIR [options]</c>.</summary>
    public static Command Train(TextWriter output, CancellationToken cancel)
    {
        var corpus = new Option<string>("--corpus") { Description = "UTF-8 training text", Required = true, HelpName = "PATH" };
        var outDir = new Option<string>("--out") { Description = "New run directory: checkpoints, metrics.jsonl, model.tgm", Required = true, HelpName = "DIR" };
        var arch = Choice("--arch", "Recurrent cell", Defaults.Arch.ToString().ToLowerInvariant(), "lstm", "gru", "rnn");
        var layers = Number("--layers", "Stacked recurrent layers", Defaults.Layers);
        var hidden = Number("--hidden", "Hidden units per layer", Defaults.Hidden);
        var embedding = Number("--embedding", "Embedding width; 0 feeds one-hot vectors", Defaults.Embedding);
        var seqLen = Number("--seq-len", "Characters per stream per step (BPTT truncation length)", Defaults.SeqLen);
        var batch = Number("--batch", "Parallel streams per step", Defaults.Batch);
        var lr = Number("--lr", "Adam learning rate", Defaults.Lr);
        var schedule = Choice("--schedule", "Learning-rate schedule: constant; cosine (linear warmup, then down to lr/10); step (times --decay-factor every --decay-every steps)",
            Defaults.Schedule.ToString().ToLowerInvariant(), "constant", "cosine", "step");
        var warmup = new Option<int?>("--warmup") { Description = "Warmup steps of the cosine schedule [default: a tenth of --steps, at most 100]", HelpName = "N" };
        var decayEvery = Number("--decay-every", "Steps between decays of the step schedule", Defaults.DecayEvery);
        var decayFactor = Number("--decay-factor", "Factor of each decay of the step schedule", Defaults.DecayFactor);
        var dropout = Number("--dropout", "Dropout between recurrent layers and before the output layer", Defaults.Dropout);
        var clip = Number("--clip", "Gradient-norm clipping threshold", Defaults.Clip);
        var steps = new Option<long?>("--steps") { Description = $"Steps to train [default: {Defaults.Steps}]", HelpName = "N" };
        var minutes = new Option<double?>("--minutes") { Description = "Train for this many minutes instead of --steps", HelpName = "M" };
        var evalEvery = Number("--eval-every", "Steps between validations on the whole validation split", Defaults.EvalEvery);
        var checkpointEvery = Number("--checkpoint-every", "Steps between checkpoints", Defaults.CheckpointEvery);
        var seed = Number("--seed", "Seed of initialization, dropout and the data walk", Defaults.Seed);
        var threads = Number("--threads", "libtorch threads; 0 uses every core", Defaults.Threads);
        var valFraction = Number("--val-fraction", "Share at the end of the corpus held out for validation", Defaults.ValFraction);
        var keepBest = new Option<bool>("--keep-best") { Description = "Keep the best-validation checkpoint in DIR/best and export model.tgm from it" };
        var onDivergence = Choice("--on-divergence", "stop: end the run naming the learning rate; rollback: reload the last checkpoint and halve the rate",
            "stop", "stop", "rollback");

        var command = new Command("train", "Train a new model; writes DIR/model.tgm at the end.")
        {
            corpus, outDir, arch, layers, hidden, embedding, seqLen, batch, lr, schedule, warmup, decayEvery, decayFactor,
            dropout, clip, steps, minutes, evalEvery, checkpointEvery, seed, threads, valFraction, keepBest, onDivergence,
        };
        command.SetAction(parse =>
        {
            long? stepCount = parse.GetValue(steps);
            double? minuteCount = parse.GetValue(minutes);
            if (stepCount is not null && minuteCount is not null) throw new UsageException("give either --steps or --minutes, not both");
            var config = new TrainingConfig
            {
                Corpus = parse.GetRequiredValue(corpus),
                Arch = Enum.Parse<CellKind>(parse.GetRequiredValue(arch), ignoreCase: true),
                Layers = parse.GetValue(layers),
                Hidden = parse.GetValue(hidden),
                Embedding = parse.GetValue(embedding),
                SeqLen = parse.GetValue(seqLen),
                Batch = parse.GetValue(batch),
                Lr = parse.GetValue(lr),
                Schedule = Enum.Parse<ScheduleKind>(parse.GetRequiredValue(schedule), ignoreCase: true),
                Warmup = parse.GetValue(warmup),
                DecayEvery = parse.GetValue(decayEvery),
                DecayFactor = parse.GetValue(decayFactor),
                Dropout = parse.GetValue(dropout),
                Clip = parse.GetValue(clip),
                Steps = minuteCount is null ? stepCount ?? Defaults.Steps : null,
                Minutes = minuteCount,
                EvalEvery = parse.GetValue(evalEvery),
                CheckpointEvery = parse.GetValue(checkpointEvery),
                Seed = parse.GetValue(seed),
                Threads = parse.GetValue(threads),
                ValFraction = parse.GetValue(valFraction),
                KeepBest = parse.GetValue(keepBest),
                OnDivergence = Enum.Parse<DivergenceAction>(parse.GetRequiredValue(onDivergence), ignoreCase: true),
            };
            var problems = config.Problems();
            if (problems.Count > 0) throw new UsageException(string.Join(Environment.NewLine, problems));
            return Start(config, parse.GetRequiredValue(outDir), output, cancel);
        });
        return command;
    }

    private static int Start(TrainingConfig config, string directory, TextWriter output, CancellationToken cancel)
    {
        if (File.Exists(directory)) throw new UsageException($"--out {directory} is a file; give a directory for the run");
        if (Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any())
        {
            throw new UsageException($"--out {directory} already exists and is not empty; continue it with `resume {directory}` or choose a new directory");
        }
        var corpus = Corpus.Load(config.Corpus);

        bool created = !Directory.Exists(directory);
        TrainingRun run;
        try
        {
            run = TrainingRun.Start(config, corpus, directory);
        }
        catch when (created)
        {
            // Nothing half-written: a run that could not write its first checkpoint leaves no directory behind.
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
            throw;
        }
        using (run)
        {
            output.WriteLine($"training {config.Arch.ToString().ToLowerInvariant()} {config.Layers}x{config.Hidden} on {corpus.Name} ({corpus.Scalars.Length} characters, {run.Model.Architecture.VocabularySize} symbols, {run.Model.Architecture.ParameterCount()} parameters) into {directory}");
            return Finish(run, TrainingBudget.ForTrain(config), directory, output, cancel);
        }
    }

    /// <summary><c>resume DIR [--steps N | --minutes M] [--reset-optimizer]</c>.</summary>
    public static Command Resume(TextWriter output, CancellationToken cancel)
    {
        var directory = new Argument<string>("DIR") { Description = "Run directory written by train" };
        var steps = new Option<long?>("--steps") { Description = "Train this many more steps (default: up to the run's original --steps or --minutes)", HelpName = "N" };
        var minutes = new Option<double?>("--minutes") { Description = "Train this many more minutes", HelpName = "M" };
        var resetOptimizer = new Option<bool>("--reset-optimizer")
        {
            Description = "Start a fresh Adam instead of restoring its state. This is the blog's mistake, kept only to demonstrate it: expect a worse model.",
        };
        var command = new Command("resume", "Continue a run from its latest checkpoint, bit-identically.") { directory, steps, minutes, resetOptimizer };
        command.SetAction(parse =>
        {
            long? more = parse.GetValue(steps);
            double? extra = parse.GetValue(minutes);
            if (more is not null && extra is not null) throw new UsageException("give either --steps or --minutes, not both");
            if (more is < 1) throw new UsageException($"--steps must be at least 1 (got {more})");
            if (extra is double m && (!double.IsFinite(m) || m <= 0)) throw new UsageException($"--minutes must be a finite number above 0 (got {m})");

            string dir = parse.GetRequiredValue(directory);
            bool reset = parse.GetValue(resetOptimizer);
            using var run = TrainingRun.Resume(dir, reset);
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
            string model = Path.Combine(directory, "model.tgm");
            WriteOutput(model, ModelExporter.FromCheckpoint(Checkpoint.Open(source)).WriteFile);
            output.WriteLine($"wrote {model}");
        }
        return Ok;
    }
}
