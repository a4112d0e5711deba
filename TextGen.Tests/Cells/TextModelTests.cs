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
    public void AMissingTensorIsAFormatErrorNamingIt()
    {
        ModelFile full = RandomModels.Create(RandomModels.Architecture(CellKind.Lstm, 2));
        var file = new ModelFile(full.Architecture, full.Tensors.Where(t => t.Name != "rnn.weight_hh_l1").ToList(), full.Metadata);
        var error = Assert.Throws<ModelFormatException>(() => TextModel.FromFile(file))!;
        Assert.That(error.Message, Does.Contain("rnn.weight_hh_l1").And.Contain("missing"));
    }

    [Test]
    public void AWrongShapeIsAFormatErrorNamingTheTensor()
    {
        ModelFile full = RandomModels.Create(RandomModels.Architecture(CellKind.Gru));
        var tensors = full.Tensors.Select(t => t.Name == "head.bias" ? ModelTensor.FromFloat32("head.bias", new[] { 9 }, new float[9]) : t).ToList();
        var error = Assert.Throws<ModelFormatException>(() => TextModel.FromFile(new ModelFile(full.Architecture, tensors, full.Metadata)))!;
        Assert.That(error.Message, Does.Contain("head.bias").And.Contain("shape"));
    }

    [Test]
    public void WeightsOfAnUnsupportedDTypeAreAFormatError()
    {
        ModelFile full = RandomModels.Create(RandomModels.Architecture(CellKind.Rnn));
        var tensors = full.Tensors.Select(t => t.Name == "head.weight" ? new ModelTensor(t.Name, TensorDType.F16, t.Shape, new byte[t.ElementCount * 2]) : t).ToList();
        var error = Assert.Throws<ModelFormatException>(() => TextModel.FromFile(new ModelFile(full.Architecture, tensors, full.Metadata)))!;
        Assert.That(error.Message, Does.Contain("head.weight").And.Contain("F16"));
    }

    [Test]
    public void AWrongByteCountIsAFormatError()
    {
        ModelFile full = RandomModels.Create(RandomModels.Architecture(CellKind.Rnn));
        var tensors = full.Tensors.Select(t => t.Name == "head.bias" ? new ModelTensor(t.Name, TensorDType.F32, t.Shape, new byte[3]) : t).ToList();
        Assert.Throws<ModelFormatException>(() => TextModel.FromFile(new ModelFile(full.Architecture, tensors, full.Metadata)));
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
}
