using TextGen.Runtime.Format;
using TextGen.Runtime.Model;
using TextGen.Trainer.Export;

namespace TextGen.Benchmarks.Engines;

/// <summary>
/// Every engine and dtype the benchmarks race, each with a factory that loads the model into it from bytes prepared
/// once, so that creating an engine measures its own load and nothing else. Both the <c>compare</c> command and the
/// BenchmarkDotNet suite take their contenders from here.
/// </summary>
internal static class StepEngines
{
    /// <summary>An engine and dtype, and how to load the model into a new instance of it.</summary>
    /// <param name="Name">runtime, onnxruntime or torchsharp.</param>
    /// <param name="DType">The weights' encoding in that engine.</param>
    /// <param name="Create">Loads the model into a new engine.</param>
    public sealed record Entry(string Name, TensorDType DType, Func<IStepEngine> Create)
    {
        /// <summary>"engine dtype", e.g. <c>runtime q8</c>.</summary>
        public string Label => $"{Name} {ModelFileSchema.DTypeName(DType)}";
    }

    /// <summary>TextGen.Runtime in f32, f16 and q8, then ONNX Runtime and TorchSharp in f32, all over <paramref name="file"/>.</summary>
    public static IReadOnlyList<Entry> For(ModelFile file, string modelName)
    {
        ModelFile f32 = file.ConvertTo(TensorDType.F32);
        var engines = new List<Entry>();
        foreach (TensorDType dtype in new[] { TensorDType.F32, TensorDType.F16, TensorDType.Q8 })
        {
            byte[] bytes = f32.ConvertTo(dtype).ToBytes();
            engines.Add(new Entry("runtime", dtype, () => new RuntimeEngine(TextModel.Load(bytes, modelName))));
        }
        byte[] onnx = OnnxExporter.ToBytes(f32);
        byte[] f32Bytes = f32.ToBytes();
        engines.Add(new Entry("onnxruntime", TensorDType.F32, () => new OnnxRuntimeEngine(onnx, f32.Architecture)));
        engines.Add(new Entry("torchsharp", TensorDType.F32, () => new TorchSharpEngine(ModelFile.Read(f32Bytes, modelName))));
        return engines;
    }
}
