using TextGen.Runtime.Format;
using TextGen.Runtime.Generation;
using TextGen.Runtime.Model;

namespace TextGen.Tests.Cells;

/// <summary>
/// Two-unit models over the vocabulary "ab" whose expected logits are worked out below from the PyTorch equations,
/// gate by gate, with nothing but Math.Exp/Math.Tanh.
/// </summary>
internal sealed class HandCheckedCellTests
{
    private const int A = 0, B = 1;

    [Test]
    public void LstmWithTwoUnitsFollowsTheEquations()
    {
        // rows i0 i1 f0 f1 g0 g1 o0 o1; columns: one-hot a, b
        float[] wIh = { 0.5f, -0.5f, 0.25f, 0f, 1f, 0f, 0f, 1f, 0.5f, 1f, -1f, 0.5f, 0f, 0.5f, 1f, -1f };
        float[] wHh = { 0.1f, 0.2f, 0f, -0.3f, 0f, 0f, 0.5f, 0f, 1f, -1f, 0.2f, 0.4f, -0.5f, 0f, 0f, 0.25f };
        float[] bIh = { 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f };
        float[] bHh = { 0f, 0f, 1f, 1f, 0f, 0f, -0.1f, 0.2f };
        TextGenerator generator = Build(CellKind.Lstm, embedding: null, wIh, wHh, bIh, bHh);

        // step 1, input a, h = c = 0: pre-activation = W_ih[:, a] + b_ih + b_hh
        double i0 = S(0.5 + 0.1), i1 = S(0.25 + 0.1);
        double f0 = S(1 + 0.1 + 1), f1 = S(0 + 0.1 + 1);
        double g0 = T(0.5 + 0.1), g1 = T(-1 + 0.1);
        double o0 = S(0 + 0.1 - 0.1), o1 = S(1 + 0.1 + 0.2);
        double c0 = f0 * 0 + i0 * g0, c1 = f1 * 0 + i1 * g1; // c' = f*c + i*g with c = 0
        double h0 = o0 * T(c0), h1 = o1 * T(c1);
        generator.FeedToken(A);
        AssertLogits(generator, h0, h1);

        // step 2, input b: W_ih[:, b] + W_hh·h + b_ih + b_hh
        i0 = S(-0.5 + 0.1 * h0 + 0.2 * h1 + 0.1);
        i1 = S(0 + 0 * h0 - 0.3 * h1 + 0.1);
        f0 = S(0 + 0 * h0 + 0 * h1 + 0.1 + 1);
        f1 = S(1 + 0.5 * h0 + 0 * h1 + 0.1 + 1);
        g0 = T(1 + 1 * h0 - 1 * h1 + 0.1);
        g1 = T(0.5 + 0.2 * h0 + 0.4 * h1 + 0.1);
        o0 = S(0.5 - 0.5 * h0 + 0 * h1 + 0.1 - 0.1);
        o1 = S(-1 + 0 * h0 + 0.25 * h1 + 0.1 + 0.2);
        c0 = f0 * c0 + i0 * g0;
        c1 = f1 * c1 + i1 * g1;
        h0 = o0 * T(c0);
        h1 = o1 * T(c1);
        generator.FeedToken(B);
        AssertLogits(generator, h0, h1);
    }

    [Test]
    public void GruWithTwoUnitsFollowsTheEquations()
    {
        // rows r0 r1 z0 z1 n0 n1; columns: one-hot a, b
        float[] wIh = { 0.5f, -1f, 0f, 0.5f, 1f, 0f, -0.5f, 0.25f, 1f, -1f, 0.5f, 2f };
        float[] wHh = { 0.2f, 0f, 0f, 0.4f, -0.3f, 0.1f, 0.5f, 0f, 1f, 0.5f, -1f, 0.25f };
        float[] bIh = { 0f, 0.1f, 0f, 0f, 0.2f, -0.2f };
        float[] bHh = { 0.1f, 0f, 0.3f, 0f, 0.5f, -0.25f }; // b_hn = 0.5, −0.25 sit inside r·(…)
        TextGenerator generator = Build(CellKind.Gru, embedding: null, wIh, wHh, bIh, bHh);

        // step 1, input a, h = 0: W_hn·h = 0, so n sees r·b_hn
        double r0 = S(0.5 + 0 + 0.1), r1 = S(0 + 0.1 + 0);
        double z0 = S(1 + 0 + 0.3), z1 = S(-0.5 + 0 + 0);
        double n0 = T(1 + 0.2 + r0 * 0.5), n1 = T(0.5 - 0.2 + r1 * -0.25);
        double h0 = (1 - z0) * n0, h1 = (1 - z1) * n1;
        generator.FeedToken(A);
        AssertLogits(generator, h0, h1);

        // step 2, input b
        r0 = S(-1 + 0 + 0.2 * h0 + 0 * h1 + 0.1);
        r1 = S(0.5 + 0.1 + 0 * h0 + 0.4 * h1 + 0);
        z0 = S(0 + 0 - 0.3 * h0 + 0.1 * h1 + 0.3);
        z1 = S(0.25 + 0 + 0.5 * h0 + 0 * h1 + 0);
        n0 = T(-1 + 0.2 + r0 * (1 * h0 + 0.5 * h1 + 0.5));
        n1 = T(2 - 0.2 + r1 * (-1 * h0 + 0.25 * h1 - 0.25));
        h0 = (1 - z0) * n0 + z0 * h0;
        h1 = (1 - z1) * n1 + z1 * h1;
        generator.FeedToken(B);
        AssertLogits(generator, h0, h1);
    }

    [Test]
    public void RnnWithTwoUnitsAndAnEmbeddingFollowsTheEquations()
    {
        float[] embedding = { 0.5f, -1f };  // a → 0.5, b → −1 (E = 1)
        float[] wIh = { 1f, -2f };          // (2, 1)
        float[] wHh = { 0.5f, -0.25f, 1f, 0.75f };
        float[] bIh = { 0.1f, 0f };
        float[] bHh = { 0f, -0.3f };
        TextGenerator generator = Build(CellKind.Rnn, embedding, wIh, wHh, bIh, bHh);

        double h0 = T(1 * 0.5 + 0.1), h1 = T(-2 * 0.5 - 0.3);
        generator.FeedToken(A);
        AssertLogits(generator, h0, h1);

        double next0 = T(1 * -1 + 0.5 * h0 - 0.25 * h1 + 0.1);
        double next1 = T(-2 * -1 + 1 * h0 + 0.75 * h1 - 0.3);
        generator.FeedToken(B);
        AssertLogits(generator, next0, next1);
    }

    [Test]
    public void BeforeAnyInputTheLogitsAreTheHeadBias()
    {
        TextGenerator generator = Build(CellKind.Rnn, new[] { 0.5f, -1f }, new[] { 1f, -2f }, new float[4], new float[2], new float[2]);
        Assert.That(generator.Logits.ToArray(), Is.EqualTo(HeadBias));
    }

    // head: logits = W·h + b with W = [[1, −2], [0.5, 3]], b = [0.1, −0.2]
    private static readonly float[] HeadWeight = { 1f, -2f, 0.5f, 3f };
    private static readonly float[] HeadBias = { 0.1f, -0.2f };

    private static void AssertLogits(TextGenerator generator, double h0, double h1)
    {
        double[] expected = { 1 * h0 - 2 * h1 + 0.1, 0.5 * h0 + 3 * h1 - 0.2 };
        Assert.That(generator.Logits[0], Is.EqualTo(expected[0]).Within(1e-6));
        Assert.That(generator.Logits[1], Is.EqualTo(expected[1]).Within(1e-6));
    }

    private static double S(double x) => 1 / (1 + Math.Exp(-x));

    private static double T(double x) => Math.Tanh(x);

    private static TextGenerator Build(CellKind cell, float[]? embedding, float[] wIh, float[] wHh, float[] bIh, float[] bHh)
    {
        int e = embedding is null ? 0 : embedding.Length / 2;
        var architecture = new ModelArchitecture(cell, 1, 2, e, new[] { 'a', 'b' }.Select(c => (int)c).ToArray());
        int gates = architecture.GateCount * 2;
        var tensors = new List<ModelTensor>();
        if (embedding is not null) tensors.Add(ModelTensor.FromFloat32(ModelArchitecture.EmbeddingName, new[] { 2, e }, embedding));
        tensors.Add(ModelTensor.FromFloat32(ModelArchitecture.WeightIhName(0), new[] { gates, architecture.InputSize }, wIh));
        tensors.Add(ModelTensor.FromFloat32(ModelArchitecture.WeightHhName(0), new[] { gates, 2 }, wHh));
        tensors.Add(ModelTensor.FromFloat32(ModelArchitecture.BiasIhName(0), new[] { gates }, bIh));
        tensors.Add(ModelTensor.FromFloat32(ModelArchitecture.BiasHhName(0), new[] { gates }, bHh));
        tensors.Add(ModelTensor.FromFloat32(ModelArchitecture.HeadWeightName, new[] { 2, 2 }, HeadWeight));
        tensors.Add(ModelTensor.FromFloat32(ModelArchitecture.HeadBiasName, new[] { 2 }, HeadBias));
        var model = TextModel.FromFile(new ModelFile(architecture, tensors, new Dictionary<string, MetadataValue>()));
        return model.CreateGenerator();
    }
}
