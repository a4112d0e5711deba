using System.Diagnostics;

namespace TextGen.Tests.Support;

/// <summary>
/// Runs a program (the dotnet CLI, the trainer, the demo, a published binary, mount) as a child process and collects
/// what it printed, for the tests that run things the way a user would.
/// </summary>
internal static class ChildProcess
{
    /// <summary>What the process printed and returned.</summary>
    public sealed record Result(int ExitCode, string Output, string Error)
    {
        /// <summary>Everything, for assertion messages.</summary>
        public override string ToString() => $"exit code {ExitCode}\n{Output}\n{Error}";
    }

    /// <summary>The dotnet host running the tests, so children use the same SDK and runtime.</summary>
    public static string Dotnet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";

    /// <summary>
    /// Runs <paramref name="fileName"/> and waits up to <paramref name="timeout"/>. MSBuild variables inherited from
    /// the test host are removed: they point a child build at the test run's own MSBuild instead of a fresh one.
    /// </summary>
    public static Result Run(string fileName, IEnumerable<string> args, string workingDirectory, TimeSpan timeout, IDictionary<string, string>? environment = null)
    {
        using var process = Start(fileName, args, workingDirectory, environment);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        return Finish(process, output, error, timeout);
    }

    /// <summary>Starts <paramref name="fileName"/> with redirected output, for tests that act while it runs (signals, kills).</summary>
    public static Process Start(string fileName, IEnumerable<string> args, string? workingDirectory = null, IDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory ?? AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in args) start.ArgumentList.Add(arg);
        foreach (string key in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList()) start.Environment.Remove(key);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;
        return Process.Start(start)!;
    }

    /// <summary>Waits up to <paramref name="timeout"/> for the end of <paramref name="process"/> and collects what it printed.</summary>
    public static Result Finish(Process process, Task<string> output, Task<string> error, TimeSpan timeout)
    {
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{process.StartInfo.FileName} {string.Join(' ', process.StartInfo.ArgumentList)} did not finish within {timeout}");
        }
        return new Result(process.ExitCode, output.Result, error.Result);
    }

    /// <summary>
    /// Runs a dotnet CLI command that builds (pack, build, publish) without leaving build servers behind, which
    /// would outlive the test and hold its temporary directories.
    /// </summary>
    public static Result RunDotnetBuild(IEnumerable<string> args, string workingDirectory, TimeSpan timeout)
        => Run(Dotnet, args.Concat(new[] { "--disable-build-servers", "-nologo" }), workingDirectory, timeout);
}
