using TextGen.Runtime.Evaluation;
using TextGen.Runtime.Format;
using TextGen.Runtime.Model;
using TextGen.Tests.Cells;
using TextGen.Tests.Support;

namespace TextGen.Tests.Evaluation;

internal sealed class TextEvaluatorTests
{
    [TestCase(CellKind.Rnn, 0)]
    [TestCase(CellKind.Gru, 6)]
    [TestCase(CellKind.Lstm, 6)]
    public void CrossEntropyMatchesTheReferenceModel(CellKind cell, int embedding)
    {
        ModelFile file = RandomModels.Create(RandomModels.Architecture(cell, 2, 16, embedding, vocab: 30), seed: 4);
        var model = TextModel.FromFile(file);
        string text = string.Concat(Enumerable.Range(0, 300).Select(i => (char)(' ' + (i * i + 3 * i) % 30)));

        var reference = new ReferenceModel(file);
        double expected = 0;
        for (int i = 0; i < text.Length; i++)
        {
            int id = text[i] - ' ';
            if (i > 0)
            {
                double[] logits = reference.Logits();
                double max = logits.Max();
                double logSum = max + Math.Log(logits.Sum(l => Math.Exp(l - max)));
                expected += logSum - logits[id];
            }
            reference.Step(id);
        }

        TextEvaluation result = TextEvaluator.Evaluate(model, text);
        Assert.That(result.CharactersScored, Is.EqualTo(299));
        Assert.That(result.UnknownCharactersSkipped, Is.Zero);
        Assert.That(result.NatsPerCharacter, Is.EqualTo(expected / 299).Within(1e-5));
        Assert.That(result.BitsPerCharacter, Is.EqualTo(expected / 299 / Math.Log(2)).Within(1e-5));
        Assert.That(TextEvaluator.Evaluate(model, text, strictDeterminism: true).NatsPerCharacter, Is.EqualTo(expected / 299).Within(1e-5));
    }

    [Test]
    public void UnknownCharactersAreSkippedAndCounted()
    {
        var model = TextModel.FromFile(RandomModels.Create(RandomModels.Architecture(CellKind.Lstm, vocab: 30)));
        TextEvaluation clean = TextEvaluator.Evaluate(model, "#$%&'()");
        TextEvaluation noisy = TextEvaluator.Evaluate(model, "é#$%\U0001F600&'()z");
        Assert.That(noisy.UnknownCharactersSkipped, Is.EqualTo(3));
        Assert.That(noisy.CharactersScored, Is.EqualTo(clean.CharactersScored));
        Assert.That(noisy.TotalNats, Is.EqualTo(clean.TotalNats));
    }

    [Test]
    public void NothingToScoreGivesNaN()
    {
        var model = TextModel.FromFile(RandomModels.Create(RandomModels.Architecture(CellKind.Rnn)));
        TextEvaluation result = TextEvaluator.Evaluate(model, "#");
        Assert.That(result.CharactersScored, Is.Zero);
        Assert.That(result.NatsPerCharacter, Is.NaN);
        Assert.Throws<ArgumentNullException>(() => TextEvaluator.Evaluate(model, (string)null!));
    }
}
