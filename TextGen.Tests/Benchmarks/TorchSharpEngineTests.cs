using TextGen.Benchmarks.Engines;
using TextGen.Runtime.Format;
using TextGen.Runtime.Model;
using TextGen.Tests.Trainer;

namespace TextGen.Tests.Benchmarks;

/// <summary>
/// <see cref="TorchSharpEngine"/>, i.e. a weight file loaded back into the trainer's CharModel by
/// <c>CharModel.FromModelFile</c>, computes the Runtime's logits step by step: without this the comparison's
/// TorchSharp speed could be the speed of a different model.
/// </summary>
public sealed class TorchSharpEngineTests
{
    [TestCase(CellKind.Rnn, 4, TensorDType.F32)]
    [TestCase(CellKind.Gru, 4, TensorDType.F32)]
    [TestCase(CellKind.Lstm, 4, TensorDType.F32)]
    [TestCase(CellKind.Lstm, 0, TensorDType.F32)]
    [TestCase(CellKind.Gru, 0, TensorDType.F16)]
    public void LogitsMatchTheRuntimeAtEveryStep(CellKind cell, int embedding, TensorDType dtype)
    {
        ModelFile file = RandomModels.Create(RandomModels.Architecture(cell, layers: 2, hidden: 12, embedding: embedding, vocab: 10), seed: 3).ConvertTo(dtype);
        using var torch = new TorchSharpEngine(file);
        using var runtime = new RuntimeEngine(TextModel.FromFile(file));
        var random = new Random(5);
        double largest = 0;
        for (int step = 0; step < 60; step++)
        {
            int token = random.Next(10);
            float[] expected = runtime.Step(token).ToArray();
            ReadOnlySpan<float> actual = torch.Step(token);
            for (int i = 0; i < expected.Length; i++) largest = Math.Max(largest, Math.Abs(actual[i] - expected[i]));
        }
        Assert.That(largest, Is.LessThanOrEqualTo(OnnxParity.Tolerance));
    }

    [Test]
    public void ResetStartsAgainFromTheZeroState()
    {
        ModelFile file = RandomModels.Create(RandomModels.Architecture(CellKind.Lstm, layers: 2), seed: 4);
        using var engine = new TorchSharpEngine(file);
        float[] first = engine.Step(1).ToArray();
        engine.Step(2);
        float[] afterOneMore = engine.Step(1).ToArray();

        engine.Reset();

        Assert.That(afterOneMore, Is.Not.EqualTo(first), "the state must carry over between steps");
        Assert.That(engine.Step(1).ToArray(), Is.EqualTo(first));
    }
}
