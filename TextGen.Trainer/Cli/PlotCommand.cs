using System.CommandLine;
using TextGen.Trainer.Plots;
using TextGen.Trainer.Training;
using static TextGen.Trainer.Cli.TrainerCommandLine;

namespace TextGen.Trainer.Cli;

/// <summary><c>plot DIR [DIR…] --out FILE.png</c>: the loss curves of several runs in one picture.</summary>
internal static class PlotCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create(TextWriter output)
    {
        var directories = new Argument<string[]>("DIR") { Description = "Run directories (each with a metrics.jsonl)", Arity = ArgumentArity.OneOrMore };
        var file = new Option<string>("--out") { Description = "PNG file to write", Required = true, HelpName = "FILE.png" };
        var command = new Command("plot", "Overlay the training and validation loss (and learning rate) of runs, from their metrics.jsonl.") { directories, file };
        command.SetAction(parse =>
        {
            string path = parse.GetRequiredValue(file);
            if (Directory.Exists(path)) throw new UsageException($"--out {path} is a directory; give a file name such as runs.png");
            if (!path.EndsWith(".png", StringComparison.OrdinalIgnoreCase)) throw new UsageException($"--out {path} must end in .png");

            var runs = parse.GetRequiredValue(directories).Select(Read).ToList();
            string? off = null;
            if (!new PlotWriter().TrySave(path, LossPlot.Width, LossPlot.Height, () => LossPlot.Draw(runs), note => off = note))
            {
                throw new IOException(off);
            }
            output.WriteLine($"wrote {path} ({string.Join(", ", runs.Select(r => $"{r.Name}: {r.Records.Count} evaluations"))})");
            return Ok;
        });
        return command;
    }

    private static RunMetrics Read(string directory)
    {
        string metrics = Path.Combine(directory, MetricsLog.FileName);
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"{directory}: no such directory");
        if (!File.Exists(metrics)) throw new FileNotFoundException($"{directory}: holds no {MetricsLog.FileName}; is it a run directory?");
        var records = new MetricsLog(directory).Read();
        if (records.Count == 0) throw new IOException($"{metrics}: holds no evaluations yet");
        return new RunMetrics(Path.GetFileName(Path.TrimEndingDirectorySeparator(directory)), records);
    }
}
