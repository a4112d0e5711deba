using System.Collections.ObjectModel;
using System.Security.Cryptography;
using TextGen.Runtime.Format;
using TextGen.Tests.Support;

namespace TextGen.Tests.Format;

public sealed class ModelFileRoundTripTests
{
    private static IEnumerable<TestCaseData> Architectures()
    {
        foreach (var cell in new[] { CellKind.Rnn, CellKind.Gru, CellKind.Lstm })
        {
            foreach (int layers in new[] { 1, 2, 3 })
            {
                foreach (int embedding in new[] { 0, 5 })
                {
                    yield return new TestCaseData(cell, layers, embedding).SetArgDisplayNames($"{cell}", $"layers={layers}", embedding == 0 ? "one-hot" : $"embedding={embedding}");
                }
            }
        }
    }

    [TestCaseSource(nameof(Architectures))]
    public void RoundTripKeepsEveryValueAndRewritesIdenticalBytes(CellKind cell, int layers, int embedding)
    {
        var model = RandomModels.Create(RandomModels.Architecture(cell, layers, hidden: 6, embedding: embedding, vocab: 9), seed: layers * 10 + embedding);
        byte[] bytes = model.ToBytes();

        var read = ModelFile.Read(bytes, "roundtrip.tgm");

        AssertSameContents(read, model);
        Assert.That(read.ToBytes(), Is.EqualTo(bytes), "re-writing a read file must give the same bytes");
    }

    [Test]
    public void MetadataOfBothKindsRoundTripsExactly()
    {
        var architecture = RandomModels.Architecture(CellKind.Lstm);
        var metadata = new Dictionary<string, MetadataValue>
        {
            ["corpus_name"] = "tavern names",
            ["corpus_sha256"] = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            ["steps"] = 12000,
            ["validation_loss"] = 1.2345678901234567,
            ["learning_rate"] = 2e-3,
            ["negative"] = -0.0,
            ["unicode ✓ key"] = "Ünïcødé value 🐉",
            ["empty"] = "",
            ["trainer_version"] = "0.1.0",
        };
        var model = new ModelFile(architecture, RandomModels.Create(architecture).Tensors, metadata);

        var read = ModelFile.Read(model.ToBytes(), "metadata.tgm");

        Assert.That(read.Metadata, Is.EquivalentTo(metadata));
        Assert.That(BitConverter.DoubleToInt64Bits(read.Metadata["negative"].Number), Is.EqualTo(BitConverter.DoubleToInt64Bits(-0.0)));
        Assert.That(read.Metadata["steps"].IsString, Is.False);
        Assert.That(read.Metadata.Keys, Is.EqualTo(metadata.Keys.OrderBy(k => k, StringComparer.Ordinal)), "metadata enumerates in ordinal key order");
    }

    [Test]
    public void SameContentsGiveSameBytesWhateverTheMetadataInsertionOrder()
    {
        var architecture = RandomModels.Architecture(CellKind.Gru, layers: 2);
        var tensors = RandomModels.Create(architecture, seed: 3).Tensors;
        var forward = new Dictionary<string, MetadataValue> { ["a"] = 1, ["B"] = "x", ["b"] = 2, ["é"] = "y" };
        var backward = new Dictionary<string, MetadataValue>();
        foreach (var entry in forward.Reverse()) backward.Add(entry.Key, entry.Value);

        byte[] first = new ModelFile(architecture, tensors, forward).ToBytes();
        byte[] second = new ModelFile(architecture, tensors, backward).ToBytes();

        Assert.That(second, Is.EqualTo(first));
    }

    [Test]
    public void WriterFollowsTheSpecByteForByte()
    {
        // HandBuiltModelFile is written from docs/format.md alone; the Runtime's writer must produce the same bytes.
        foreach (var cell in new[] { CellKind.Rnn, CellKind.Gru, CellKind.Lstm })
        {
            var model = RandomModels.Create(RandomModels.Architecture(cell, layers: 2, embedding: cell == CellKind.Gru ? 0 : 3, vocab: 200));
            Assert.That(model.ToBytes(), Is.EqualTo(HandBuiltModelFile.From(model).Compose()), cell.ToString());
        }
    }

    [Test]
    public void VocabularyBeyondAsciiRoundTrips()
    {
        int[] vocabulary = { 'a', 0xE9, 0x3B1, 0x4E2D, 0xFFFD, 0x1F409, 0x10FFFF, 0, 0xD7FF, 0xE000 };
        var architecture = new ModelArchitecture(CellKind.Rnn, 1, 3, 2, vocabulary);

        var read = ModelFile.Read(RandomModels.Create(architecture).ToBytes(), "unicode.tgm");

        Assert.That(read.Architecture.Vocabulary, Is.EqualTo(vocabulary));
    }

    [Test]
    public void TensorSha256IsTheDigestOfEveryTensorsPiecesInFileOrder()
    {
        // Hidden 200: each weight_hh is 800 × 200 floats, 640,000 bytes, so it is cut into pieces of 262,144, 262,144 and 115,712.
        var model = RandomModels.Create(RandomModels.Architecture(CellKind.Lstm, layers: 2, hidden: 200));
        var pieceDigests = new List<byte>();
        foreach (var tensor in model.Tensors)
        {
            byte[] data = tensor.Data.ToArray();
            for (int start = 0; start < data.Length; start += 262_144) pieceDigests.AddRange(SHA256.HashData(data.AsSpan(start, Math.Min(262_144, data.Length - start))));
        }
        string expected = Convert.ToHexString(SHA256.HashData(pieceDigests.ToArray())).ToLowerInvariant();

        Assert.That(model.TensorSha256, Is.EqualTo(expected));
        Assert.That(ModelFile.Read(model.ToBytes(), "m.tgm").TensorSha256, Is.EqualTo(expected));
    }

    [Test]
    public void StreamOverloadReadsFromTheCurrentPositionToTheEnd()
    {
        var model = RandomModels.Create(RandomModels.Architecture(CellKind.Gru));
        using var stream = new MemoryStream();
        stream.Write(new byte[] { 1, 2, 3 });
        model.Write(stream);
        stream.Position = 3;

        AssertSameContents(ModelFile.Read(stream, "asset://models/gru"), model);
    }

    [Test]
    public void StreamOverloadReadsNonSeekableStreamsLargerThanItsFirstBuffer()
    {
        var model = RandomModels.Create(RandomModels.Architecture(CellKind.Lstm, hidden: 64, vocab: 90));
        byte[] bytes = model.ToBytes();
        Assert.That(bytes.Length, Is.GreaterThan(64 * 1024), "the file must outgrow the first buffer of an unknown-length stream");

        using var stream = new TrickleStream(bytes, chunk: 777);
        AssertSameContents(ModelFile.Read(stream, "network"), model);
    }

    [Test]
    public void MemoryOverloadCopiesSoTheCallerMayReuseItsBuffer()
    {
        var model = RandomModels.Create(RandomModels.Architecture(CellKind.Rnn));
        byte[] bytes = model.ToBytes();
        var read = ModelFile.Read(bytes.AsMemory(), "pack.bin#model");

        Array.Clear(bytes);

        AssertSameContents(read, model);
    }

    [Test]
    public void MemoryOverloadReadsASliceOfALargerBuffer()
    {
        var model = RandomModels.Create(RandomModels.Architecture(CellKind.Lstm));
        byte[] bytes = model.ToBytes();
        byte[] pack = new byte[bytes.Length + 20];
        bytes.CopyTo(pack, 7);

        AssertSameContents(ModelFile.Read(pack.AsMemory(7, bytes.Length), "pack.bin#model"), model);
    }

    [Test]
    public void FileRoundTripReplacesAnExistingFile()
    {
        string directory = Directory.CreateTempSubdirectory("tgm-").FullName;
        try
        {
            string path = Path.Combine(directory, "model.tgm");
            var first = RandomModels.Create(RandomModels.Architecture(CellKind.Rnn), seed: 1);
            var second = RandomModels.Create(RandomModels.Architecture(CellKind.Lstm, layers: 2), seed: 2);

            first.WriteFile(path);
            AssertSameContents(ModelFile.ReadFile(path), first);
            second.WriteFile(path);
            AssertSameContents(ModelFile.ReadFile(path), second);

            Assert.That(Directory.GetFiles(directory), Is.EqualTo(new[] { path }), "no temporary file may be left behind");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    public void DecodedTensorsEqualTheValuesTheyWereBuiltFrom()
    {
        float[] values = { 0f, -0f, 1.5f, -2.25e-30f, float.Epsilon, float.MaxValue, float.MinValue, 3.14159f };
        var tensor = ModelTensor.FromFloat32("t", new[] { 2, 4 }, values);

        var copied = new float[8];
        tensor.CopyTo(copied);

        Assert.That(tensor.ToFloat32Array(), Is.EqualTo(values));
        Assert.That(copied.Select(BitConverter.SingleToInt32Bits), Is.EqualTo(values.Select(BitConverter.SingleToInt32Bits)));
    }

    [Test]
    public void CopyToRefusesADestinationOfTheWrongLength()
    {
        var tensor = ModelTensor.FromFloat32("t", new[] { 3 }, new float[3]);

        Assert.Throws<ArgumentException>(() => tensor.CopyTo(new float[4]));
    }

    [Test]
    public void GetTensorFindsTensorsByTheirPyTorchName()
    {
        var model = RandomModels.Create(RandomModels.Architecture(CellKind.Gru, layers: 2));

        Assert.That(model.GetTensor("rnn.weight_hh_l1"), Is.SameAs(model.Tensors[6]));
        Assert.Throws<KeyNotFoundException>(() => model.GetTensor("rnn.weight_hh_l2"));
    }

    [Test]
    public void ContentsCannotBeChangedThroughTheirCollections()
    {
        var model = RandomModels.Create(RandomModels.Architecture(CellKind.Rnn));

        Assert.That(model.Tensors, Is.InstanceOf<ReadOnlyCollection<ModelTensor>>());
        Assert.That(model.Metadata, Is.InstanceOf<ReadOnlyDictionary<string, MetadataValue>>());
        Assert.That(model.Tensors[0].Shape, Is.InstanceOf<ReadOnlyCollection<int>>());
    }

    internal static void AssertSameContents(ModelFile actual, ModelFile expected)
    {
        var a = actual.Architecture;
        var e = expected.Architecture;
        Assert.That((a.Cell, a.Layers, a.HiddenSize, a.EmbeddingSize), Is.EqualTo((e.Cell, e.Layers, e.HiddenSize, e.EmbeddingSize)));
        Assert.That(a.Vocabulary, Is.EqualTo(e.Vocabulary));
        Assert.That(actual.Tensors.Select(t => t.Name), Is.EqualTo(expected.Tensors.Select(t => t.Name)));
        for (int i = 0; i < expected.Tensors.Count; i++)
        {
            Assert.That(actual.Tensors[i].DType, Is.EqualTo(expected.Tensors[i].DType));
            Assert.That(actual.Tensors[i].Shape, Is.EqualTo(expected.Tensors[i].Shape));
            Assert.That(actual.Tensors[i].Data.ToArray(), Is.EqualTo(expected.Tensors[i].Data.ToArray()), expected.Tensors[i].Name);
        }
        Assert.That(actual.Metadata, Is.EquivalentTo(expected.Metadata));
        // The digest is the same weights' only where both files digest them the same way, in the same major version.
        if (actual.FormatVersion.Major == expected.FormatVersion.Major) Assert.That(actual.TensorSha256, Is.EqualTo(expected.TensorSha256));
    }

    /// <summary>A non-seekable stream that hands out its bytes a few at a time, like a network or decompression stream.</summary>
    internal sealed class TrickleStream(byte[] bytes, int chunk) : ForwardOnlyStream
    {
        private int _position;

        public long BytesRead => _position;

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = Math.Min(Math.Min(count, chunk), bytes.Length - _position);
            Array.Copy(bytes, _position, buffer, offset, n);
            _position += n;
            return n;
        }
    }
}
