using System.CommandLine;
using TextGen.Benchmarks;

var root = new RootCommand("TextGen measurements: speed and sample quality, printed for the docs and issue notes.")
{
    TrainerThroughput.Command(),
    SampleWords.Command(),
    GenerationSpeed.Command(),
};
return root.Parse(args).Invoke();
