using TextGen.Runtime.Format;
using TextGen.Runtime.Model;

namespace TextGen.Tests.Format;

/// <summary>
/// Files of format 1, which the trainer wrote before format 2: they differ only in <c>tensor_sha256</c>, one SHA-256
/// over all the tensor data, and they still load on every path, verified by that digest, into the same model.
/// </summary>
public sealed class Format1CompatibilityTests
{
    // Two LSTM layers of 256 (2.3 MB): large enough for helper threads, with tensors of several pieces.
    private static readonly Lazy<ModelFile> Model = new(() => RandomModels.Create(RandomModels.Architecture(CellKind.Lstm, layers: 2, hidden: 256, embedding: 16, vocab: 40), seed: 21));

    private static HandBuiltModelFile Format1Document()
    {
        var document = HandBuiltModelFile.From(Model.Value);
        document.Root["version"] = new List<object> { 1L, 0L };
        return document;
    }

    private static string Hex(byte[] digest) => Convert.ToHexString(digest).ToLowerInvariant();

    private static IEnumerable<byte[]> TensorBytes() => Model.Value.Tensors.Select(t => t.Data.ToArray());

    [Test]
    public void AFormat1FileReadsWithItsOwnDigest()
    {
        ModelFile read = ModelFile.Read(Format1Document().Compose(), "old.tgm");

        Assert.That(read.FormatVersion, Is.EqualTo(new Version(1, 0)));
        Assert.That(read.TensorSha256, Is.EqualTo(Hex(HandBuiltModelFile.Format1TensorSha256(TensorBytes()))));
        Assert.That(read.TensorSha256, Is.Not.EqualTo(Model.Value.TensorSha256), "format 2 digests the same weights differently");
        ModelFileRoundTripTests.AssertSameContents(read, Model.Value);
    }

    [TestCase(true)]
    [TestCase(false)]
    public void AFormat1FileLoadsIntoTheSameModelOnEveryPath(bool helper)
    {
        byte[] bytes = Format1Document().Compose();
        string path = Path.Combine(Path.GetTempPath(), $"textgen-format1-{Guid.NewGuid():N}.tgm");
        File.WriteAllBytes(path, bytes);
        try
        {
            var options = new ModelLoadOptions { UseHelperThread = helper };
            string expected = TextModel.Load(Model.Value.ToBytes(), "new.tgm").CreateGenerator(new() { Seed = 8 }).GenerateString(120);
            using var stream = new MemoryStream(bytes);

            foreach (TextModel model in new[] { TextModel.Load(bytes, "old.tgm", options), TextModel.Load(path, options), TextModel.Load(stream, "old.tgm", options) })
            {
                Assert.That(model.CreateGenerator(new() { Seed = 8 }).GenerateString(120), Is.EqualTo(expected));
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void AChangedWeightInAFormat1FileIsRefused()
    {
        var document = Format1Document();
        byte[] declared = HandBuiltModelFile.Format1TensorSha256(TensorBytes());
        byte[] weight = ((HandBuiltModelFile.TensorData)document.Tensor(2)["data"]).Bytes;
        weight[700_001] ^= 0x01; // in the third piece of rnn.weight_hh_l0, which a helper may hash
        document.Root["tensor_sha256"] = declared;

        ModelFileAssert.Refuses(document.Compose(sealTensors: false), "tensor_sha256: checksum mismatch", $"declares {Hex(declared)}");
    }

    [TestCase(1)]
    [TestCase(2)]
    public void AFileWithTheOtherVersionsDigestIsRefused(int major)
    {
        var document = HandBuiltModelFile.From(Model.Value);
        document.Root["version"] = new List<object> { (long)major, 0L };
        document.Root["tensor_sha256"] = major == 1 ? HandBuiltModelFile.Format2TensorSha256(TensorBytes()) : HandBuiltModelFile.Format1TensorSha256(TensorBytes());

        ModelFileAssert.Refuses(document.Compose(sealTensors: false), "tensor_sha256: checksum mismatch");
    }

    [Test]
    public void RewritingAFormat1FileWritesTheCurrentFormat()
    {
        ModelFile read = ModelFile.Read(Format1Document().Compose(), "old.tgm");
        byte[] rewritten = read.ToBytes();

        Assert.That(rewritten, Is.EqualTo(Model.Value.ToBytes()));
        ModelFile again = ModelFile.Read(rewritten, "upgraded.tgm");
        Assert.That(again.FormatVersion, Is.EqualTo(new Version(ModelFile.FormatMajorVersion, ModelFile.FormatMinorVersion)));
        Assert.That(again.TensorSha256, Is.EqualTo(Hex(HandBuiltModelFile.Format2TensorSha256(TensorBytes()))));
    }
}
