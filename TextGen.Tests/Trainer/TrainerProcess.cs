using System.Diagnostics;
using TextGen.Tests.Support;

namespace TextGen.Tests.Trainer;

/// <summary>Runs the real trainer executable (the copy in the test output) as a child process.</summary>
internal static class TrainerProcess
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Runs <c>TextGen.Trainer</c> with <paramref name="args"/> through bash, after <paramref name="shellSetup"/>
    /// (e.g. a <c>ulimit</c>), so that limits apply to the trainer and not to the test process.
    /// </summary>
    public static ChildProcess.Result Run(IEnumerable<string> args, string shellSetup = "true", IDictionary<string, string>? environment = null)
    {
        using var process = Start(args, shellSetup, environment);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        return Finish(process, output, error);
    }

    /// <summary>
    /// Starts the trainer with redirected output; the process id is the trainer's own (bash execs env, which execs it).
    /// env restores the default action of SIGINT and SIGTERM: a test run started in the background by a script
    /// (`cmd &`) ignores SIGINT, children inherit ignored signals, and .NET then never raises Ctrl+C, so the stop-signal
    /// tests would wait for a signal that cannot arrive. A user's terminal delivers it.
    /// </summary>
    public static Process Start(IEnumerable<string> args, string shellSetup = "true", IDictionary<string, string>? environment = null)
    {
        string trainer = Path.Combine(AppContext.BaseDirectory, "TextGen.Trainer.dll");
        return ChildProcess.Start("bash", new[] { "-c", $"{shellSetup}; exec env --default-signal=INT,TERM \"$0\" \"$@\"", ChildProcess.Dotnet, trainer }.Concat(args), environment: environment);
    }

    /// <summary>Waits for the end of <paramref name="process"/> and collects what it printed.</summary>
    public static ChildProcess.Result Finish(Process process, Task<string> output, Task<string> error)
        => ChildProcess.Finish(process, output, error, Timeout);
}
