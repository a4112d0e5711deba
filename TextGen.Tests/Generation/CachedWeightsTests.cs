using TextGen.Runtime.Format;
using TextGen.Runtime.Generation;
using TextGen.Runtime.Kernels;
using TextGen.Runtime.Model;

namespace TextGen.Tests.Generation;

/// <summary>Which models count as staying in the core's L2, and what their generators do about it.</summary>
internal sealed class CachedWeightsTests
{
    private const string Text = "abcdefghij";

    private static ModelFile Lstm(int hidden) => RandomModels.Create(new ModelArchitecture(CellKind.Lstm, 2, hidden, 8, Text.Select(c => (int)c).ToArray()), seed: 3, scale: 0.2f);

    [Test]
    public void AStepReadsEveryMatrixButTheOneTheInputTableHolds()
    {
        ModelFile file = Lstm(40);
        // Layer 0's W_hh and layer 1's W_ih and W_hh are (160, 40), the head (10, 40); layer 0's W_ih is in the table.
        Assert.That(TextModel.FromFile(file).Weights.MatrixBytesPerStep, Is.EqualTo((3 * 160 * 40 + 10 * 40) * 4L));
        // Without the table, layer 0's W_ih (160, 8) is read at every step too.
        Assert.That(TextModel.FromFile(file, maxInputTableFloats: 0).Weights.MatrixBytesPerStep, Is.EqualTo((3 * 160 * 40 + 160 * 8 + 10 * 40) * 4L));
        // q8 with row scales keeps a byte per weight, rows padded to 64 bytes, and a 4-byte scale per row.
        Assert.That(TextModel.FromFile(file.ConvertTo(TensorDType.Q8)).Weights.MatrixBytesPerStep, Is.EqualTo(3 * (160 * 64 + 160 * 4) + 10 * 64 + 10 * 4));
        // With block scales: a byte per weight and a 4-byte scale per block of 32 columns, two blocks for 40.
        Assert.That(TextModel.FromFile(file.ConvertTo(TensorDType.Q8, Q8Scaling.PerBlock)).Weights.MatrixBytesPerStep, Is.EqualTo(3 * (160 * 40 + 160 * 2 * 4) + 10 * 40 + 10 * 2 * 4));
    }

    /// <summary>
    /// A 2×40 LSTM (80 KB of matrices) fits half of any x64 core's L2 (256 KB and up); a 2×256 one (3.2 MB) fits none
    /// this project has met (2 MB at most). Where the L2's size is unknown, everything prefetches, as before this existed.
    /// </summary>
    [Test]
    public void GeneratorsPrefetchOnlyWeightsThatOutgrowHalfTheL2()
    {
        TextModel small = TextModel.FromFile(Lstm(40));
        TextModel large = TextModel.FromFile(Lstm(256));
        Assert.That(large.Weights.MatrixBytesPerStep, Is.EqualTo((3 * 1024 * 256 + 10 * 256) * 4L));
        bool known = CoreCache.L2Bytes > 0;
        Assert.That(small.CreateGenerator().Mode.PrefetchesWeights, Is.EqualTo(!known), "small");
        Assert.That(small.CreateGenerator(new GeneratorOptions { StrictDeterminism = true }).Mode.PrefetchesWeights, Is.EqualTo(!known), "small, strict");
        Assert.That(large.CreateGenerator().Mode.PrefetchesWeights, Is.EqualTo(!known || CoreCache.L2Bytes < 2 * large.Weights.MatrixBytesPerStep), "large");
    }
}
