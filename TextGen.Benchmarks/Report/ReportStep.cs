using System.Text.Json.Nodes;
using TextGen.Trainer.Cli;

namespace TextGen.Benchmarks.Report;

/// <summary>What a report step measures, which says how its JSON lines are read.</summary>
internal enum StepKind
{
    /// <summary><c>load-time</c>: model load, phase by phase.</summary>
    LoadTime,

    /// <summary><c>compare</c>: every engine and dtype on one model, and the roofline.</summary>
    Compare,

    /// <summary><c>batch-scaling</c>: a <c>GeneratorBatch</c> of 1 and 32 sessions, and the compute bound.</summary>
    BatchScaling,

    /// <summary><c>thread-scaling</c>: independent generators on 1..N threads.</summary>
    ThreadScaling,

    /// <summary><c>generation-speed</c>: fast against strict mode.</summary>
    GenerationSpeed,

    /// <summary>The trainer's <c>eval</c>: validation loss per dtype.</summary>
    Evaluation,
}

/// <summary>
/// One measurement of the report: a command line of TextGen.Benchmarks (or TextGen.Trainer's <c>eval</c>), run in this
/// process exactly as that command runs from a shell, so the report lists commands anyone can rerun one by one.
/// </summary>
/// <param name="Kind">What it measures.</param>
/// <param name="Label">The model it measures, as the report's tables name it.</param>
/// <param name="RandomHidden">The hidden size of the random LSTM it builds (<c>--hidden</c>); null for the weight file.</param>
/// <param name="Arguments">The command's arguments, the command name first.</param>
internal sealed record ReportStep(StepKind Kind, string Label, int? RandomHidden, IReadOnlyList<string> Arguments)
{
    /// <summary>The project whose command line this is.</summary>
    public string Project => Kind == StepKind.Evaluation ? "TextGen.Trainer" : "TextGen.Benchmarks";

    /// <summary>The shell command that runs this step alone.</summary>
    public string CommandLine => ShellLine(Project, Arguments);

    /// <summary>The shell command that runs <paramref name="project"/> with <paramref name="arguments"/>, quoted for a POSIX shell.</summary>
    public static string ShellLine(string project, IEnumerable<string> arguments)
        => $"dotnet run -c Release --project {project} -- {string.Join(' ', arguments.Select(Quote))}";

    /// <summary>Runs the step; its output lines (all of them) and its JSON objects, or the error it printed.</summary>
    public StepResult Run()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        string[] args = Arguments.ToArray();
        int code = Kind == StepKind.Evaluation
            ? TrainerCommandLine.Run(args, output, error, CancellationToken.None)
            : BenchmarkCommandLine.Root().Parse(args).Invoke(new System.CommandLine.InvocationConfiguration { Output = output, Error = error });
        string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var objects = lines.Where(l => l.StartsWith('{')).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        return new StepResult(this, code, lines, objects, error.ToString().Trim());
    }

    private static string Quote(string argument)
        => argument.Length > 0 && argument.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/' or ',' or '=' or ':')
            ? argument
            : $"'{argument.Replace("'", "'\\''")}'";
}

/// <summary>What a <see cref="ReportStep"/> printed.</summary>
/// <param name="Step">The step.</param>
/// <param name="ExitCode">Its exit code: 0 when it measured.</param>
/// <param name="Lines">Every non-empty output line.</param>
/// <param name="Objects">The output lines that are JSON objects, in order.</param>
/// <param name="Error">What it wrote to standard error.</param>
internal sealed record StepResult(ReportStep Step, int ExitCode, IReadOnlyList<string> Lines, IReadOnlyList<JsonObject> Objects, string Error)
{
    /// <summary><c>compare</c>'s line for <paramref name="engine"/> in <paramref name="dtype"/>; null if it printed none.</summary>
    public JsonObject? EngineLine(string engine, string dtype)
        => Objects.FirstOrDefault(o => (string?)o["engine"] == engine && (string?)o["dtype"] == dtype);

    /// <summary>The object a line wraps under <paramref name="key"/> alone, as <c>{"roofline":{…}}</c> and <c>{"bound":{…}}</c>; null if none.</summary>
    public JsonNode? Wrapped(string key) => Objects.FirstOrDefault(o => o.ContainsKey(key))?[key];
}
