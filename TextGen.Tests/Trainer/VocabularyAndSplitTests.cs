using System.Text;
using TextGen.Trainer.Data;

namespace TextGen.Tests.Trainer;

public sealed class VocabularyAndSplitTests
{
    [Test]
    public void VocabularyIsSortedAndIdsAreRanks()
    {
        var vocabulary = Vocabulary.Of("hello, world 😀".EnumerateRunes().Select(r => r.Value));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(vocabulary.Scalars, Is.EqualTo(new[] { ' ', ',', 'd', 'e', 'h', 'l', 'o', 'r', 'w', 0x1F600 }));
            Assert.That(vocabulary.Encode(new[] { (int)'w', 'o', 0x1F600 }), Is.EqualTo(new[] { 8, 6, 9 }));
        }
    }

    [Test]
    public void UnknownCharacterIsReported()
    {
        var vocabulary = new Vocabulary(new[] { (int)'a', 'b' });
        Assert.That(() => vocabulary.Encode(new[] { (int)'a', 'z' }), Throws.ArgumentException.With.Message.Contains("U+007A at position 1"));
    }

    [Test]
    public void UnsortedStoredVocabularyIsRejected()
    {
        Assert.That(() => new Vocabulary(new[] { (int)'b', 'a' }), Throws.ArgumentException);
    }

    [TestCase(0.1, 900)]
    [TestCase(0.25, 750)]
    [TestCase(0.5, 500)]
    public void FirstPartTrainsAndLastPartValidates(double fraction, int trainLength)
    {
        using var sandbox = new TrainingSandbox();
        string text = string.Concat(Enumerable.Range(0, 1000).Select(i => (char)('a' + i % 26)));
        var corpus = Corpus.Load(sandbox.WriteBytes("abc.txt", Encoding.UTF8.GetBytes(text)));
        var data = TrainingData.Split(corpus, fraction, batch: 2, seqLen: 8);
        var all = data.Vocabulary.Encode(corpus.Scalars);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(data.Training, Has.Length.EqualTo(trainLength));
            Assert.That(data.Validation, Has.Length.EqualTo(1000 - trainLength));
            Assert.That(data.Training.Concat(data.Validation), Is.EqualTo(all));
            Assert.That(Corpus.TrainingLength(1000, fraction), Is.EqualTo(trainLength));
        }
    }
}
