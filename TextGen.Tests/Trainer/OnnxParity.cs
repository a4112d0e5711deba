using TextGen.Benchmarks.Engines;
using TextGen.Runtime.Format;
using TextGen.Runtime.Kernels;
using TextGen.Runtime.Model;

namespace TextGen.Tests.Trainer;

/// <summary>
/// Runs a model's ONNX step graph in ONNX Runtime (through the benchmarks' <see cref="OnnxRuntimeEngine"/>) and in
/// TextGen.Runtime side by side over a fixed token sequence, and measures how far apart their logits and states get.
/// </summary>
internal static class OnnxParity
{
    /// <summary>The tolerance of every float parity test in the project.</summary>
    public const double Tolerance = 1e-5;

    /// <summary>The largest differences of logits and of h and c over <paramref name="steps"/> steps, each compared at every step.</summary>
    public static (double Logits, double State) MaxDifferences(ModelFile file, int steps, int seed = 11)
    {
        var model = TextModel.FromFile(file);
        var state = new RunState(model.Weights);
        var mode = KernelMode.Best(strict: false);
        using var engine = new OnnxRuntimeEngine(file);
        int hidden = file.Architecture.HiddenSize;
        var random = new Random(seed);
        double logits = 0, recurrent = 0;
        for (int s = 0; s < steps; s++)
        {
            int token = random.Next(model.VocabularySize);
            ForwardPass.Step(model.Weights, state, mode, token);
            logits = Math.Max(logits, MaxAbsDifference(engine.Step(token), state.Logits));
            for (int l = 0; l < file.Architecture.Layers; l++)
            {
                recurrent = Math.Max(recurrent, MaxAbsDifference(engine.Hidden.Slice(l * hidden, hidden), state.Hidden[l]));
                if (file.Architecture.Cell == CellKind.Lstm)
                {
                    recurrent = Math.Max(recurrent, MaxAbsDifference(engine.Cell.Slice(l * hidden, hidden), state.Cell[l]));
                }
            }
        }
        return (logits, recurrent);
    }

    private static double MaxAbsDifference(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length));
        double max = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            // A NaN on either side must fail, which Math.Max alone would not guarantee.
            double difference = Math.Abs((double)actual[i] - expected[i]);
            max = double.IsNaN(difference) ? double.PositiveInfinity : Math.Max(max, difference);
        }
        return max;
    }
}
