using System.CommandLine;
using TextGen.Benchmarks.Report;
using TextGen.Benchmarks.Suite;

namespace TextGen.Benchmarks;

/// <summary>The benchmark commands under one root: what <c>Program</c> runs, and what <c>report</c> runs its steps through.</summary>
internal static class BenchmarkCommandLine
{
    /// <summary>A new root command holding every benchmark command.</summary>
    public static RootCommand Root() => new("TextGen measurements (speed and sample quality, printed for the docs and issue notes) and the *.tgm fuzz target.")
    {
        TrainerThroughput.Command(),
        SampleWords.Command(),
        GenerationSpeed.Command(),
        ThreadScaling.Command(),
        BatchScaling.Command(),
        EngineComparison.Command(),
        LoadTime.Command(),
        PerformanceReport.Command(),
        BenchmarkSuite.Command(),
        TgmFuzzing.Command(),
    };
}
