using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using TextGen.CommandLine;
using TextGen.Runtime.Format;
using TextGen.Trainer.Checkpoints;
using TextGen.Trainer.Data;
using TextGen.Trainer.Export;
using TextGen.Trainer.Training;

namespace TextGen.Trainer.Cli;

/// <summary>
/// The command line: <c>train</c>, <c>resume</c>, <c>export</c>, <c>eval</c>, <c>inspect</c>, <c>sample</c>, <c>lr-find</c> and
/// <c>plot</c>. Exit codes: 0 done (or interrupted with a checkpoint), 1 failure, 2 usage error; every message goes to
/// standard error without a stack trace.
/// </summary>
internal static class TrainerCommandLine
{
    /// <summary>Exit code of a finished command.</summary>
    public const int Ok = 0;

    /// <summary>Exit code of a failure: bad corpus, unreadable checkpoint, divergence, I/O error.</summary>
    public const int Failure = 1;

    /// <summary>Exit code of a usage error: unknown or missing option, nonsense value.</summary>
    public const int Usage = 2;

    /// <summary>Parses <paramref name="args"/> and runs the command.</summary>
    /// <param name="args">Command-line arguments.</param>
    /// <param name="output">Standard output; a live progress bar is only drawn when this is the console.</param>
    /// <param name="error">Standard error.</param>
    /// <param name="cancel">Stops training with a checkpoint, like Ctrl+C.</param>
    public static int Run(string[] args, TextWriter output, TextWriter error, CancellationToken cancel)
    {
        var root = new RootCommand("TextGen trainer: char-level RNN/GRU/LSTM training on TorchSharp, exported for TextGen.Runtime.")
        {
            TrainingCommands.Train(output, cancel),
            TrainingCommands.Resume(output, cancel),
            ModelCommands.Export(output),
            ModelCommands.Evaluate(output),
            ModelCommands.Inspect(output),
            ModelCommands.Sample(output),
            TrainingCommands.FindLearningRate(output, cancel),
            PlotCommand.Create(output),
        };
        ParseResult parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors) error.WriteLine(ParseErrorText.Describe(e));
            error.WriteLine("Run with --help for usage.");
            return Usage;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (UsageException e)
        {
            error.WriteLine(e.Message);
            return Usage;
        }
        catch (Exception e) when (e is TrainingDivergedException or OperationCanceledException or CorpusException or CheckpointException or ModelFormatException)
        {
            error.WriteLine(e.Message);
            return Failure;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Writes outside checkpoints (metrics.jsonl, model.tgm, the run directory); .NET's message names the file.
            error.WriteLine(FileSystemError.Describe(e));
            return Failure;
        }
        catch (Exception e)
        {
            // Not an expected error but a defect: keep the stack trace for the bug report.
            error.WriteLine($"unexpected error: {e}");
            return Failure;
        }
    }

    /// <summary>
    /// Writes an output file through <paramref name="write"/> (which writes atomically); a failure names
    /// <paramref name="path"/> rather than the temporary file beside it that .NET would name, and says why.
    /// </summary>
    /// <exception cref="ModelFormatException">The file cannot be written: missing directory, full disk, read-only, denied.</exception>
    public static void WriteOutput(string path, Action<string> write)
    {
        try
        {
            write(path);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new ModelFormatException(path, $"cannot write: the directory {Path.GetDirectoryName(Path.GetFullPath(path))} does not exist", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelFormatException(path, $"cannot write: {FileSystemError.Describe(e)}", e);
        }
    }

    /// <summary>One JSON object on one line, written by <paramref name="body"/>: the machine-readable last line of a command.</summary>
    public static string Json(Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        // Relaxed escaping keeps '+' and non-ASCII readable; nothing here is embedded in HTML.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            body(json);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>An option with a default value, shown in help.</summary>
    public static Option<T> Number<T>(string name, string description, T defaultValue) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        HelpName = typeof(T) == typeof(double) ? "X" : "N",
    };

    /// <summary>A string option limited to <paramref name="choices"/>.</summary>
    public static Option<string> Choice(string name, string description, string defaultValue, params string[] choices)
    {
        var option = new Option<string>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        option.AcceptOnlyFromAmong(choices);
        return option;
    }
}

/// <summary>A command line that cannot work as given; exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>The divergence guard stopped training; exit code 1.</summary>
internal sealed class TrainingDivergedException(string message) : Exception(message);
