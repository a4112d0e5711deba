using System.CommandLine;
using BenchmarkDotNet.ConsoleArguments;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Running;

namespace TextGen.Benchmarks.Suite;

/// <summary>
/// The <c>suite</c> command: runs the BenchmarkDotNet suite; any arguments after it go to BenchmarkDotNet
/// (<c>--filter</c>, <c>--job short</c>, …).
/// </summary>
internal static class BenchmarkSuite
{
    /// <summary>The <c>suite</c> command.</summary>
    public static Command Command()
    {
        var command = new Command("suite", "The BenchmarkDotNet suite (arguments after it go to BenchmarkDotNet, e.g. --filter '*' --job short)")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        command.SetAction(parse =>
        {
            // In process: a separately built benchmark project would have to repeat the native-library set-up
            // (libtorch, ONNX Runtime, the GLIBCXX fix) that this program's build already did.
            string[] arguments = ["--inProcess", .. parse.UnmatchedTokens];
            // BenchmarkDotNet reports an unknown option and then runs nothing, which would end with exit code 0.
            if (!ConfigParser.Parse(arguments, new TextLogger(Console.Error)).isSuccess) return 1;
            var summaries = BenchmarkSwitcher.FromTypes([typeof(GenerationBenchmarks), typeof(DigestBenchmarks)]).Run(arguments);
            return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
        });
        return command;
    }
}
