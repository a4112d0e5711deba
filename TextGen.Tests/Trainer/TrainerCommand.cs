using System.Globalization;
using TextGen.Tests.Support;
using TextGen.Trainer.Cli;

namespace TextGen.Tests.Trainer;

/// <summary>
/// Runs the trainer's real command line in the test process (as Program.cs does, minus the signal handlers), which
/// is much faster than a child process where nothing process-wide (signals, limits) is under test.
/// </summary>
internal static class TrainerCommand
{
    /// <summary>Runs <paramref name="args"/> and collects the exit code and what was printed.</summary>
    public static ChildProcess.Result Run(params string[] args)
    {
        var output = new StringWriter(CultureInfo.InvariantCulture);
        var error = new StringWriter(CultureInfo.InvariantCulture);
        int code = TrainerCommandLine.Run(args, output, error, CancellationToken.None);
        return new ChildProcess.Result(code, output.ToString(), error.ToString());
    }
}
