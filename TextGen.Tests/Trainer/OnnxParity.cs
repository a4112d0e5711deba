using TextGen.Benchmarks.Engines;
using TextGen.Runtime.Format;
using TextGen.Runtime.Kernels;
using TextGen.Runtime.Model;

namespace TextGen.Tests.Trainer;

/// <summary>
/// Runs a model's ONNX step graph in ONNX Runtime (through the benchmarks' <see cref="OnnxRuntimeEngine"/>) and in
/// TextGen.Runtime side by side over a fixed random token sequence, and measures how far apart they get.
/// </summary>
internal static class OnnxParity
{
    /// <summary>The tolerance of every float parity test in the project.</summary>
    public const double Tolerance = 1e-5;

    /// <summary>Largest differences over all steps, each compared at every step.</summary>
    /// <param name="Logits">|Δ logit|.</param>
    /// <param name="Hidden">|Δ h| of every layer (h lies in [−1, 1]).</param>
    /// <param name="Cell">
    /// LSTM: |Δ c| / max(1, |c|) of every layer. c is an unbounded running sum (|c| exceeds 60 in the shipped
    /// Shakespeare model, where one float step is 3.8e-6), so it is compared relative to its size; 0 for RNN and GRU.
    /// </param>
    public sealed record Differences(double Logits, double Hidden, double Cell)
    {
        /// <summary>All three within <see cref="Tolerance"/>, with the numbers in the failure message.</summary>
        public void AssertWithinTolerance()
        {
            using (Assert.EnterMultipleScope())
            {
                Assert.That(Logits, Is.LessThanOrEqualTo(Tolerance), "logits");
                Assert.That(Hidden, Is.LessThanOrEqualTo(Tolerance), "h");
                Assert.That(Cell, Is.LessThanOrEqualTo(Tolerance), "c, relative");
            }
        }

        /// <inheritdoc/>
        public override string ToString() => $"max |Δ logits| {Logits:E2}, max |Δ h| {Hidden:E2}, max relative |Δ c| {Cell:E2}";
    }

    /// <summary>Runs <paramref name="steps"/> steps of <paramref name="file"/> in both engines from the zero state.</summary>
    /// <param name="file">The model.</param>
    /// <param name="steps">Steps, each fed a random token.</param>
    /// <param name="seed">Seed of the token sequence.</param>
    /// <param name="sharedState">
    /// False: each engine feeds its own state back, so rounding differences accumulate over the steps. True: every
    /// step of ONNX Runtime starts from TextGen.Runtime's state, so each step's difference is that step's alone.
    /// </param>
    public static Differences Measure(ModelFile file, int steps, int seed = 11, bool sharedState = false)
    {
        var model = TextModel.FromFile(file);
        var state = new RunState(model.Weights);
        var mode = KernelMode.Best(strict: false);
        using var engine = new OnnxRuntimeEngine(file);
        int hidden = file.Architecture.HiddenSize;
        var random = new Random(seed);
        double logits = 0, h = 0, c = 0;
        for (int s = 0; s < steps; s++)
        {
            int token = random.Next(model.VocabularySize);
            if (sharedState) CopyState(state, engine, file.Architecture);
            ForwardPass.Step(model.Weights, state, mode, token);
            logits = Math.Max(logits, MaxDifference(engine.Step(token), state.Logits, relative: false));
            for (int l = 0; l < file.Architecture.Layers; l++)
            {
                h = Math.Max(h, MaxDifference(engine.Hidden.Slice(l * hidden, hidden), state.Hidden[l], relative: false));
                if (file.Architecture.Cell == CellKind.Lstm)
                {
                    c = Math.Max(c, MaxDifference(engine.Cell.Slice(l * hidden, hidden), state.Cell[l], relative: true));
                }
            }
        }
        return new Differences(logits, h, c);
    }

    private static void CopyState(RunState state, OnnxRuntimeEngine engine, ModelArchitecture architecture)
    {
        int hidden = architecture.HiddenSize;
        for (int l = 0; l < architecture.Layers; l++)
        {
            state.Hidden[l].CopyTo(engine.Hidden.Slice(l * hidden, hidden));
            if (architecture.Cell == CellKind.Lstm) state.Cell[l].CopyTo(engine.Cell.Slice(l * hidden, hidden));
        }
    }

    private static double MaxDifference(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, bool relative)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length));
        double max = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double difference = Math.Abs((double)actual[i] - expected[i]);
            if (relative) difference /= Math.Max(1, Math.Abs((double)expected[i]));
            // A NaN on either side must fail, which Math.Max alone would not guarantee.
            max = double.IsNaN(difference) ? double.PositiveInfinity : Math.Max(max, difference);
        }
        return max;
    }
}
