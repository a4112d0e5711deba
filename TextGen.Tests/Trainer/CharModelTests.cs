using TextGen.Runtime.Format;
using TextGen.Trainer.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace TextGen.Tests.Trainer;

public sealed class CharModelTests
{
    private static readonly int[] Vocabulary = Enumerable.Range(97, 12).ToArray();

    [Test]
    public void StateDictNamesAndShapesAreTheRuntimesTensors(
        [Values] CellKind cell, [Values(1, 3)] int layers, [Values(0, 5)] int embedding)
    {
        var architecture = new ModelArchitecture(cell, layers, 7, embedding, Vocabulary);
        using var model = new CharModel(architecture, dropout: 0.1);
        var actual = model.state_dict().Select(kv => (kv.Key, string.Join(",", kv.Value.shape)));
        var expected = architecture.ExpectedTensors().Select(s => (s.Name, string.Join(",", s.Shape)));
        Assert.That(actual, Is.EqualTo(expected));
    }

    [TestCase(CellKind.Rnn)]
    [TestCase(CellKind.Gru)]
    [TestCase(CellKind.Lstm)]
    public void TwoChunksWithCarriedStateEqualOneLongPass(CellKind cell)
    {
        torch.manual_seed(11);
        using var model = new CharModel(new ModelArchitecture(cell, 2, 9, 4, Vocabulary), dropout: 0);
        model.eval();
        using var noGrad = torch.no_grad();
        var ids = torch.randint(0, Vocabulary.Length, new long[] { 24, 3 }, dtype: ScalarType.Int64);

        var (whole, _) = model.forward(ids, model.ZeroState(3));
        var (first, carried) = model.forward(ids[..10], model.ZeroState(3));
        var (second, _) = model.forward(ids[10..], carried.Detached());
        var (restarted, _) = model.forward(ids[10..], model.ZeroState(3));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(torch.cat(new[] { first, second }, 0).allclose(whole, rtol: 0, atol: 1e-6), Is.True);
            Assert.That(restarted.allclose(whole[10..], rtol: 0, atol: 1e-3), Is.False, "a zero state must give other logits, or the carry test proves nothing");
        }
    }

    [Test]
    public void DetachedStateCutsTheGraph()
    {
        using var model = new CharModel(new ModelArchitecture(CellKind.Lstm, 1, 4, 3, Vocabulary), dropout: 0);
        var (_, state) = model.forward(torch.zeros(new long[] { 5, 2 }, ScalarType.Int64), model.ZeroState(2));
        using var detached = state.Detached();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(state.H.requires_grad, Is.True);
            Assert.That(detached.H.requires_grad, Is.False);
            Assert.That(detached.C!.requires_grad, Is.False);
            Assert.That(detached.H.allclose(state.H, rtol: 0, atol: 0), Is.True);
        }
    }
}
