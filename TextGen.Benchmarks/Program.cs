using System.CommandLine;
using TextGen.Benchmarks;
using TextGen.Benchmarks.Suite;

var root = new RootCommand("TextGen measurements (speed and sample quality, printed for the docs and issue notes) and the *.tgm fuzz target.")
{
    TrainerThroughput.Command(),
    SampleWords.Command(),
    GenerationSpeed.Command(),
    ThreadScaling.Command(),
    BatchScaling.Command(),
    EngineComparison.Command(),
    LoadTime.Command(),
    BenchmarkSuite.Command(),
    TgmFuzzing.Command(),
};
return root.Parse(args).Invoke();
