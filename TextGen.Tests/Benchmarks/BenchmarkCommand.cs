using System.CommandLine;
using System.Globalization;

namespace TextGen.Tests.Benchmarks;

/// <summary>Runs a benchmark command in process as the CLI would, with its output and error captured.</summary>
internal static class BenchmarkCommand
{
    /// <summary>The exit code, the non-empty output lines and the error text of <paramref name="command"/> given <paramref name="args"/>.</summary>
    public static (int Code, string[] Lines, string Error) Run(Command command, params string[] args)
    {
        var output = new StringWriter(CultureInfo.InvariantCulture);
        var error = new StringWriter(CultureInfo.InvariantCulture);
        int code = command.Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries), error.ToString());
    }
}
