using System.Diagnostics;

namespace TextGen.Tests.Trainer;

/// <summary>Runs the real trainer executable (the copy in the test output) as a child process.</summary>
internal static class TrainerProcess
{
    /// <summary>What the process printed and returned.</summary>
    public sealed record Result(int ExitCode, string Output, string Error);

    /// <summary>
    /// Runs <c>TextGen.Trainer</c> with <paramref name="args"/> through bash, after <paramref name="shellSetup"/>
    /// (e.g. a <c>ulimit</c>), so that limits apply to the trainer and not to the test process.
    /// </summary>
    public static Result Run(IEnumerable<string> args, string shellSetup = "true", IDictionary<string, string>? environment = null)
    {
        using var process = Start(args, shellSetup, environment);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        return Finish(process, output, error);
    }

    /// <summary>Starts the trainer with redirected output; the process id is the trainer's own (bash execs it).</summary>
    public static Process Start(IEnumerable<string> args, string shellSetup = "true", IDictionary<string, string>? environment = null)
    {
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        string trainer = Path.Combine(AppContext.BaseDirectory, "TextGen.Trainer.dll");
        var start = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add($"{shellSetup}; exec \"$0\" \"$@\"");
        start.ArgumentList.Add(dotnet);
        start.ArgumentList.Add(trainer);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;

        return Process.Start(start)!;
    }

    /// <summary>Waits for the end of <paramref name="process"/> and collects what it printed.</summary>
    public static Result Finish(Process process, Task<string> output, Task<string> error)
    {
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("the trainer did not finish within two minutes");
        }
        return new Result(process.ExitCode, output.Result, error.Result);
    }
}
