using TextGen.Benchmarks.Suite;

namespace TextGen.Tests.Benchmarks;

/// <summary>
/// The BenchmarkDotNet suite's benchmark driven by hand, as BenchmarkDotNet drives it (set-up, invocations,
/// clean-up), on a tiny model: every engine runs, and the f32 engines generate the same characters. Nothing is timed.
/// </summary>
public sealed class GenerationBenchmarksTests
{
    private static readonly string[] Engines = ["runtime f32", "runtime f16", "runtime q8", "onnxruntime f32", "torchsharp f32"];

    private static int[] LastTokens(string engine)
    {
        var benchmark = new GenerationBenchmarks { Model = "lstm-8", Engine = engine };
        benchmark.Setup();
        try
        {
            return [benchmark.Generate(), benchmark.Generate(), benchmark.Generate()];
        }
        finally
        {
            benchmark.Cleanup();
        }
    }

    [Test]
    public void EveryEngineRunsAndTheF32EnginesAgree()
    {
        var tokens = Engines.ToDictionary(e => e, LastTokens);
        using (Assert.EnterMultipleScope())
        {
            foreach (var (engine, last) in tokens) Assert.That(last, Is.All.InRange(0, 64), engine);
            Assert.That(tokens["onnxruntime f32"], Is.EqualTo(tokens["runtime f32"]));
            Assert.That(tokens["torchsharp f32"], Is.EqualTo(tokens["runtime f32"]));
        }
    }

    [Test]
    public void ShippedModelIsFoundFromTheRepositoryAndUnknownNamesAreRefused()
    {
        string saved = Directory.GetCurrentDirectory();
        try
        {
            Directory.SetCurrentDirectory(Support.Repository.Root);
            Assert.That(SuiteModels.Load("shakespeare").Architecture.HiddenSize, Is.EqualTo(512));
        }
        finally
        {
            Directory.SetCurrentDirectory(saved);
        }
        Assert.Throws<ArgumentException>(() => SuiteModels.Load("gpt-5"));
        Assert.Throws<ArgumentException>(() => SuiteModels.Load("lstm-0"));
    }
}
