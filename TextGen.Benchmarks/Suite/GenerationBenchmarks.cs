using BenchmarkDotNet.Attributes;
using TextGen.Benchmarks.Engines;
using TextGen.Runtime.Sampling;
using TorchSharp;

namespace TextGen.Benchmarks.Suite;

/// <summary>
/// Char-by-char generation, single-threaded, in every engine and dtype of <see cref="StepEngines"/>: each operation
/// feeds the previous character and picks the next by argmax, the work <c>compare</c> measures, here under
/// BenchmarkDotNet's statistics with its memory diagnoser giving the bytes allocated per character.
/// </summary>
// BenchmarkDotNet needs public, unsealed benchmark classes with settable parameter properties.
[MemoryDiagnoser]
public class GenerationBenchmarks
{
    /// <summary>Characters per benchmark invocation; results are per character.</summary>
    public const int CharsPerInvoke = 200;

    private IStepEngine? _engine;
    private int _token;

    /// <summary>A model name of <see cref="SuiteModels"/>.</summary>
    [Params("shakespeare", "lstm-128", "lstm-512")]
    public string Model { get; set; } = "shakespeare";

    /// <summary>An engine and dtype label of <see cref="StepEngines"/>, e.g. <c>runtime q8</c>.</summary>
    [Params("runtime f32", "runtime f16", "runtime q8", "onnxruntime f32", "torchsharp f32")]
    public string Engine { get; set; } = "runtime f32";

    /// <summary>Loads the model into the engine; TorchSharp runs on one thread like the others.</summary>
    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(1);
        var file = SuiteModels.Load(Model);
        _engine = StepEngines.For(file, Model).Single(e => e.Label == Engine).Create();
        _token = 0;
    }

    /// <summary>Generates <see cref="CharsPerInvoke"/> characters, continuing from the last invocation's state; returns the last token.</summary>
    [Benchmark(OperationsPerInvoke = CharsPerInvoke)]
    public int Generate()
    {
        int token = _token;
        for (int i = 0; i < CharsPerInvoke; i++) token = Sampler.Argmax(_engine!.Step(token));
        return _token = token;
    }

    /// <summary>Releases the engine's native resources.</summary>
    [GlobalCleanup]
    public void Cleanup() => _engine?.Dispose();
}
