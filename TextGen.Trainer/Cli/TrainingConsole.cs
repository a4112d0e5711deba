using System.Globalization;
using Spectre.Console;
using TextGen.Trainer.Training;

namespace TextGen.Trainer.Cli;

/// <summary>Shows a run: a live progress bar on a terminal, plain log lines when output is redirected.</summary>
internal static class TrainingConsole
{
    /// <summary>Runs <paramref name="body"/> with the reporter that suits <paramref name="output"/>.</summary>
    /// <param name="output">Standard output, or a test's writer (which always gets plain lines).</param>
    /// <param name="stepLineEvery">Steps between plain progress lines.</param>
    /// <param name="body">The training session.</param>
    public static T Run<T>(TextWriter output, int stepLineEvery, Func<ITrainingReporter, T> body)
    {
        bool terminal = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
        if (!terminal) return body(new PlainReporter(output, stepLineEvery));

        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(context => result = body(new LiveReporter(context.AddTask("training", maxValue: 1.0))));
        return result;
    }

    /// <summary>The line a validation gets in either view.</summary>
    public static string Describe(EvaluationRecord r) => string.Create(CultureInfo.InvariantCulture,
        $"step {r.Step,6} | epoch {r.Epoch,6:F2} | lr {r.Lr:G4} | train {r.TrainLoss:F4} | val {r.ValLoss:F4}{(r.Averaged ? " (averaged)" : "")} | {r.CharsPerSec / 1000:F1}k chars/s | {r.ElapsedSeconds:F0}s");

    private sealed class PlainReporter(TextWriter output, int stepLineEvery) : ITrainingReporter
    {
        public void Stepped(StepReport report)
        {
            if (report.Step % stepLineEvery == 0)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {report.Step,6} | loss {report.Loss:F4} | lr {report.Lr:G4}"));
            }
        }

        public void Evaluated(EvaluationRecord record) => output.WriteLine(Describe(record));

        public void Note(string message) => output.WriteLine(message);
    }

    private sealed class LiveReporter(ProgressTask task) : ITrainingReporter
    {
        public void Stepped(StepReport report)
        {
            task.Description = string.Create(CultureInfo.InvariantCulture, $"step {report.Step} loss {report.Loss:F3}");
            task.Value = report.BudgetFraction;
        }

        public void Evaluated(EvaluationRecord record) => AnsiConsole.MarkupLine(Markup.Escape(Describe(record)));

        public void Note(string message) => AnsiConsole.MarkupLine(Markup.Escape(message));
    }
}
