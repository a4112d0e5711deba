using System.Text;
using TextGen.Runtime.Format;
using TextGen.Tests.Support;

namespace TextGen.Tests.Format;

/// <summary>
/// Damaged files. The format carries two digests, tensor_sha256 over the weights and header_sha256 over every other
/// byte (docs/format.md), so every single-bit flip must be refused: no flip may load as a different model.
/// </summary>
public sealed class ModelFileCorruptionTests
{
    private static byte[] SmallFile(int embedding) => RandomModels.Create(new ModelArchitecture(CellKind.Lstm, 1, 2, embedding, new[] { (int)'a', 'b', 'é' }), seed: 5).ToBytes();

    [TestCase(0)]
    [TestCase(2)]
    public void TruncationAtEveryOffsetIsRefused(int embedding)
    {
        byte[] bytes = SmallFile(embedding);
        var unexpected = new List<string>();
        for (int length = 0; length < bytes.Length; length++)
        {
            string? outcome = ModelFileAssert.OutcomeOtherThanRefusal(bytes.AsMemory(0, length));
            if (outcome is not null) unexpected.Add($"truncated to {length} of {bytes.Length} bytes: {outcome}");
        }
        Assert.That(unexpected, Is.Empty);
    }

    [TestCase(0)]
    [TestCase(2)]
    public void EverySingleBitFlipIsRefused(int embedding)
    {
        byte[] bytes = SmallFile(embedding);
        var unexpected = new List<string>();
        for (int offset = 0; offset < bytes.Length; offset++)
        {
            for (int bit = 0; bit < 8; bit++)
            {
                byte[] flipped = (byte[])bytes.Clone();
                flipped[offset] ^= (byte)(1 << bit);
                string? outcome = ModelFileAssert.OutcomeOtherThanRefusal(flipped);
                if (outcome is not null) unexpected.Add($"bit {bit} of byte {offset}: {outcome}");
            }
        }
        Assert.That(unexpected, Is.Empty);
    }

    [Test]
    public void FlippedLowBitOfAWeightIsATensorChecksumMismatch()
    {
        var model = RandomModels.Create(RandomModels.Architecture(CellKind.Gru));
        byte[] bytes = model.ToBytes();
        int offset = ModelFileAssert.IndexOf(bytes, model.Tensors[3].Data.ToArray());
        bytes[offset] ^= 1;

        var e = ModelFileAssert.Refuses(bytes, "tensor_sha256", "checksum mismatch", "the weights are corrupted", model.TensorSha256);
        Assert.That(e.KeyPath, Is.EqualTo("tensor_sha256"));
    }

    [Test]
    public void EditedMetadataIsAHeaderChecksumMismatch()
    {
        byte[] bytes = RandomModels.Create(RandomModels.Architecture(CellKind.Rnn)).ToBytes();
        int offset = ModelFileAssert.IndexOf(bytes, Encoding.UTF8.GetBytes("random"));
        bytes[offset] = (byte)'R';

        ModelFileAssert.Refuses(bytes, "header_sha256", "checksum mismatch", "the file is corrupted");
    }

    [Test]
    public void EditedVocabularyIsAHeaderChecksumMismatch()
    {
        // 'a' → 'c' keeps the vocabulary valid and unique, so only the digest can tell.
        var model = RandomModels.Create(new ModelArchitecture(CellKind.Rnn, 1, 2, 2, new[] { (int)'a', 'b' }));
        byte[] bytes = model.ToBytes();
        int offset = ModelFileAssert.IndexOf(bytes, new byte[] { 0x92, (byte)'a', (byte)'b' });
        bytes[offset + 1] = (byte)'c';

        ModelFileAssert.Refuses(bytes, "header_sha256", "checksum mismatch");
    }

    [Test]
    public void StaleTensorDigestIsRefusedEvenWithAValidHeaderDigest()
    {
        var document = HandBuiltModelFile.From(RandomModels.Create(RandomModels.Architecture(CellKind.Lstm)));
        document.Root["tensor_sha256"] = new byte[32];

        ModelFileAssert.Refuses(document.Compose(sealTensors: false), "tensor_sha256: checksum mismatch", "declares 0000000000");
    }

    [Test]
    public void WrongHeaderDigestIsRefused()
    {
        var document = HandBuiltModelFile.From(RandomModels.Create(RandomModels.Architecture(CellKind.Lstm)));
        document.Root["header_sha256"] = new byte[32];

        ModelFileAssert.Refuses(document.Compose(sealHeader: false), "header_sha256: checksum mismatch");
    }

    [Test]
    public void DigestOfTheWrongLengthIsRefused()
    {
        var document = HandBuiltModelFile.From(RandomModels.Create(RandomModels.Architecture(CellKind.Lstm)));
        document.Root["tensor_sha256"] = new byte[31];

        ModelFileAssert.Refuses(document.Compose(sealTensors: false), "tensor_sha256", "expected 32 bytes of binary data, found a length of 31");
    }

    [Test]
    public void BytesAfterTheDocumentAreRefused()
    {
        byte[] bytes = RandomModels.Create(RandomModels.Architecture(CellKind.Rnn)).ToBytes();

        ModelFileAssert.Refuses(bytes.Append((byte)0xC0).ToArray(), "1 unexpected bytes after the end of the document");
        ModelFileAssert.Refuses(bytes.Concat(bytes).ToArray(), $"{bytes.Length} unexpected bytes");
    }

    [Test]
    public void TruncatedFileNamesWhereItEnds()
    {
        byte[] bytes = RandomModels.Create(RandomModels.Architecture(CellKind.Rnn)).ToBytes();

        var e = ModelFileAssert.Refuses(bytes[..(bytes.Length - 40)], "truncated");
        Assert.That(e.ByteOffset, Is.LessThanOrEqualTo(bytes.Length - 40));
    }
}
