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
    private static IEnumerable<TestCaseData> SmallFiles()
    {
        ModelFile Small(int embedding) => RandomModels.Create(new ModelArchitecture(CellKind.Lstm, 1, 2, embedding, new[] { (int)'a', 'b', 'é' }), seed: 5);

        yield return new TestCaseData(Small(2).ToBytes()).SetArgDisplayNames("embedding");
        yield return new TestCaseData(Small(0).ToBytes()).SetArgDisplayNames("one-hot");

        // A newer minor version with unknown keys, so flips also land in values the reader skips.
        var newer = HandBuiltModelFile.From(Small(0));
        newer.Root["version"] = new List<object> { 1L, 4L };
        newer.Root.Insert(2, "future", new HandBuiltModelFile.Entries { ["list"] = new List<object> { 1L, "two", 3.0, new byte[] { 4 } } });
        newer.Architecture["future"] = new List<object> { new List<object> { -5L } };
        yield return new TestCaseData(newer.Compose()).SetArgDisplayNames("newer minor with unknown keys");
    }

    [TestCaseSource(nameof(SmallFiles))]
    public void TruncationAtEveryOffsetIsRefused(byte[] bytes)
    {
        Assert.That(ModelFile.Read(bytes, "intact"), Is.Not.Null);
        var unexpected = new List<string>();
        for (int length = 0; length < bytes.Length; length++)
        {
            string? outcome = ModelFileAssert.OutcomeOtherThanRefusal(bytes.AsMemory(0, length));
            if (outcome is not null) unexpected.Add($"truncated to {length} of {bytes.Length} bytes: {outcome}");
        }
        Assert.That(unexpected, Is.Empty);
    }

    [TestCaseSource(nameof(SmallFiles))]
    public void EverySingleBitFlipIsRefused(byte[] bytes)
    {
        Assert.That(ModelFile.Read(bytes, "intact"), Is.Not.Null);
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

    [TestCaseSource(nameof(SmallFiles))]
    public void RandomOverwritesWithHeaderBytesAreRefused(byte[] bytes)
    {
        // Bytes that start long headers (array32, map32, str32, bin32, ext32, uint64) followed by extreme lengths,
        // written over random spots: they make the reader take paths single-bit flips rarely reach.
        byte[] interesting = { 0xDD, 0xDF, 0xDB, 0xC6, 0xC9, 0xCF, 0xFF, 0x7F, 0x80, 0x00, 0x91, 0x81, 0xC1 };
        var random = new Random(11);
        var unexpected = new List<string>();
        for (int trial = 0; trial < 3000; trial++)
        {
            byte[] damaged = (byte[])bytes.Clone();
            int offset = random.Next(damaged.Length);
            int count = random.Next(1, 6);
            for (int i = offset; i < Math.Min(offset + count, damaged.Length); i++) damaged[i] = interesting[random.Next(interesting.Length)];
            string? outcome = damaged.AsSpan().SequenceEqual(bytes) ? null : ModelFileAssert.OutcomeOtherThanRefusal(damaged);
            if (outcome is not null) unexpected.Add($"{count} bytes at {offset}: {outcome}");
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
