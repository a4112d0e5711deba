using TextGen.Runtime.Format;
using TextGen.Runtime.Model;
using TextGen.Tests.Support;

namespace TextGen.Tests.Cells;

internal sealed class TextModelTests
{
    [Test]
    public void VocabularyLookupsRoundTripIncludingCharactersOutsideTheBmp()
    {
        int[] vocabulary = { 'a', 0x1F600, '\n', 0x00E9, 0x10FFFF };
        ModelFile file = RandomModels.Create(new ModelArchitecture(CellKind.Rnn, 1, 4, 0, vocabulary));
        var model = TextModel.FromFile(file);
        Assert.That(model.VocabularySize, Is.EqualTo(5));
        for (int id = 0; id < vocabulary.Length; id++)
        {
            Assert.That(model.GetScalar(id), Is.EqualTo(vocabulary[id]));
            Assert.That(model.TryGetTokenId(vocabulary[id], out int found), Is.True);
            Assert.That(found, Is.EqualTo(id));
        }
        Assert.That(model.TryGetTokenId('b', out int missing), Is.False);
        Assert.That(missing, Is.EqualTo(-1));
        Assert.That(model.TryGetTokenId(0x1F601, out _), Is.False);
        Assert.That(model.TryGetTokenId(-5, out _), Is.False);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.GetScalar(5));
    }

    [Test]
    public void ModelsWithDifferentWeightsHaveDifferentFingerprints()
    {
        var architecture = RandomModels.Architecture(CellKind.Lstm);
        ulong a = TextModel.FromFile(RandomModels.Create(architecture, seed: 1)).Fingerprint;
        ulong again = TextModel.FromFile(RandomModels.Create(architecture, seed: 1)).Fingerprint;
        ulong b = TextModel.FromFile(RandomModels.Create(architecture, seed: 2)).Fingerprint;
        Assert.That(again, Is.EqualTo(a));
        Assert.That(b, Is.Not.EqualTo(a));
    }

    [Test]
    public void EveryLoadOverloadGivesTheSameModel()
    {
        ModelFile file = RandomModels.Create(RandomModels.Architecture(CellKind.Gru, layers: 2), seed: 5);
        byte[] bytes = file.ToBytes();
        string path = Path.Combine(Path.GetTempPath(), $"textgen-load-{Guid.NewGuid():N}.tgm");
        File.WriteAllBytes(path, bytes);
        try
        {
            var expected = TextModel.FromFile(file).CreateGenerator().GenerateString(64);
            var fromPath = TextModel.Load(path);
            var fromStream = TextModel.Load(new MemoryStream(bytes), "asset");
            var fromMemory = TextModel.Load(bytes.AsMemory(), "asset");
            foreach (var model in new[] { fromPath, fromStream, fromMemory })
            {
                Assert.That(model.CreateGenerator().GenerateString(64), Is.EqualTo(expected));
                Assert.That(model.Fingerprint, Is.EqualTo(TextModel.FromFile(file).Fingerprint));
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void LoadingAMissingFileIsAFormatErrorNamingIt()
    {
        string path = Path.Combine(Path.GetTempPath(), $"textgen-missing-{Guid.NewGuid():N}.tgm");
        var error = Assert.Throws<ModelFormatException>(() => TextModel.Load(path))!;
        Assert.That(error.Message, Does.StartWith(path));
    }
}
