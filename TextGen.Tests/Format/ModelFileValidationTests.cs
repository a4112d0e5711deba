using System.Buffers.Binary;
using TextGen.Runtime.Format;
using TextGen.Tests.Support;
using static TextGen.Tests.Format.HandBuiltModelFile;

namespace TextGen.Tests.Format;

/// <summary>
/// Well-formed MessagePack whose contents break a rule of the format. The digests are recomputed for each file, so
/// the refusal must come from the rule itself, and its message must say which rule and where.
/// </summary>
public sealed class ModelFileValidationTests
{
    private static ModelFile Model(CellKind cell = CellKind.Lstm, int embedding = 3) => RandomModels.Create(RandomModels.Architecture(cell, hidden: 4, embedding: embedding, vocab: 10));

    private static HandBuiltModelFile Document(CellKind cell = CellKind.Lstm, int embedding = 3) => HandBuiltModelFile.From(Model(cell, embedding));

    // ---- versions and forward compatibility ----

    [Test]
    public void UnknownMajorVersionIsRefusedNamingBothVersions()
    {
        var document = Document();
        document.Root["version"] = new List<object> { 3L, 3L };
        // A future major may change everything after the version; that must not be what the message complains about.
        document.Root["architecture"] = "a layout this runtime has never seen";

        var e = ModelFileAssert.Refuses(document.Compose(), "version: format version 3.3 is not supported: this runtime reads format versions 1.x to 2.x (it writes 2.0)");
        Assert.That(e.KeyPath, Is.EqualTo("version"));
    }

    [Test]
    public void MajorVersionZeroIsRefused()
    {
        var document = Document();
        document.Root["version"] = new List<object> { 0L, 9L };

        ModelFileAssert.Refuses(document.Compose(), "format version 0.9 is not supported");
    }

    [TestCase(1)]
    [TestCase(2)]
    public void NewerMinorVersionWithUnknownKeysIsReadAndTheKeysIgnored(int major)
    {
        var model = Model();
        var document = HandBuiltModelFile.From(model);
        document.Root["version"] = new List<object> { (long)major, 7L };
        document.Root.Insert(2, "compression", new Entries { ["scheme"] = "none", ["levels"] = new List<object> { 1L, new List<object> { 2.5, "x" } } });
        document.Root.Insert(document.Root.IndexOf("tensor_sha256"), "signature", new byte[] { 1, 2, 3 });
        document.Architecture.Insert(2, "dropout", 0.25);
        document.Architecture["tokenizer"] = new Entries { ["kind"] = "char" };
        document.Tensor(3).Insert(0, "quantization", new Raw(0xC0));
        document.Tensor(3)["stats"] = new List<object> { 0.5, -1L };

        var read = ModelFile.Read(document.Compose(), "newer.tgm");

        ModelFileRoundTripTests.AssertSameContents(read, model);
        Assert.That(read.FormatVersion, Is.EqualTo(new Version(major, 7)));
        Assert.That(read.ToBytes(), Is.EqualTo(model.ToBytes()), "a re-write is the current version without the unknown keys, with the current version's tensor_sha256");
    }

    [Test]
    public void VersionMustBeTwoIntegers()
    {
        var document = Document();
        document.Root["version"] = new List<object> { 1L, 0L, 0L };
        ModelFileAssert.Refuses(document.Compose(), "version: expected an array of 2 elements, found 3");

        document.Root["version"] = "1.0";
        ModelFileAssert.Refuses(document.Compose(), "version: expected an array, found fixstr");
    }

    // ---- identity and structure ----

    [Test]
    public void FileOfAnotherKindIsNotATextGenModel()
    {
        ModelFileAssert.Refuses(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10 }, "not a TextGen model file");
        ModelFileAssert.Refuses("{\"magic\": \"TextGen.Model\"}"u8.ToArray(), "not a TextGen model file");
        ModelFileAssert.Refuses(Array.Empty<byte>(), "the file is empty");
    }

    [Test]
    public void WrongMagicIsRefused()
    {
        var document = Document();
        document.Root["magic"] = "TextGen.Mode1";

        ModelFileAssert.Refuses(document.Compose(), "magic: not a TextGen model file: the magic string is \"TextGen.Mode1\", not \"TextGen.Model\"");
    }

    [Test]
    public void MagicAndVersionMustComeFirst()
    {
        var document = Document();
        document.Root.Insert(0, "comment", "hello");
        ModelFileAssert.Refuses(document.Compose(), "expected key \"magic\" here, found \"comment\"");

        document = Document();
        document.Root.Insert(1, "comment", "hello");
        ModelFileAssert.Refuses(document.Compose(), "expected key \"version\" here, found \"comment\"");
    }

    [TestCase("architecture")]
    [TestCase("tensors")]
    [TestCase("metadata")]
    [TestCase("tensor_sha256")]
    [TestCase("header_sha256")]
    public void MissingRequiredKeyIsNamed(string key)
    {
        var document = Document();
        document.Root.Remove(key);

        ModelFileAssert.Refuses(document.Compose(), $"missing required key \"{key}\"");
    }

    [TestCase("cell")]
    [TestCase("vocabulary")]
    public void MissingArchitectureKeyIsNamed(string key)
    {
        var document = Document();
        document.Architecture.Remove(key);

        ModelFileAssert.Refuses(document.Compose(), $"architecture: missing required key \"{key}\"");
    }

    [Test]
    public void MissingTensorKeyIsNamed()
    {
        var document = Document();
        document.Tensor(2).Remove("dtype");

        ModelFileAssert.Refuses(document.Compose(), "tensors[2]: missing required key \"dtype\" (found \"shape\"");
    }

    [Test]
    public void DuplicateKeysAreRefused()
    {
        var document = Document();
        document.Root.Insert(document.Root.IndexOf("metadata"), "architecture", document.Architecture);
        ModelFileAssert.Refuses(document.Compose(), "duplicate key \"architecture\"");

        document = Document();
        document.Architecture.Add(new("layers", 1L));
        ModelFileAssert.Refuses(document.Compose(), "architecture: duplicate key \"layers\"");

        document = Document();
        document.Root.Insert(2, "future", 1L);
        document.Root.Insert(3, "future", 2L);
        ModelFileAssert.Refuses(document.Compose(), "duplicate key \"future\"");

        document = Document();
        document.Metadata.Add(new("steps", 5L));
        ModelFileAssert.Refuses(document.Compose(), "metadata: duplicate key \"steps\"");
    }

    [Test]
    public void KeysOutOfOrderAreRefused()
    {
        var document = Document();
        var tensors = document.Root["tensors"];
        document.Root.Remove("tensors");
        document.Root.Insert(document.Root.IndexOf("architecture"), "tensors", tensors);

        ModelFileAssert.Refuses(document.Compose(), "missing required key \"architecture\" (found \"tensors\", which must come after it)");
    }

    [Test]
    public void NothingMayFollowTheHeaderDigest()
    {
        var document = Document();
        document.Root["late"] = "not covered by header_sha256";

        ModelFileAssert.Refuses(document.Compose(), "\"header_sha256\" must be the last key, found \"late\" after it");
    }

    [Test]
    public void NonStringKeyIsRefused()
    {
        var document = Document();
        document.Root["architecture"] = new Raw(0x81, 0x01, 0x02);

        ModelFileAssert.Refuses(document.Compose(), "architecture key: expected a string, found positive fixint");
    }

    [Test]
    public void InvalidUtf8IsRefused()
    {
        var document = Document();
        document.Metadata["corpus_name"] = new Raw(0xA2, 0xC3, 0x28);

        ModelFileAssert.Refuses(document.Compose(), "metadata.corpus_name: the string is not valid UTF-8");
    }

    // ---- architecture ----

    [TestCase("cell", "transformer", "unknown cell kind \"transformer\" (this runtime reads rnn, gru and lstm)")]
    [TestCase("cell", "LSTM", "unknown cell kind \"LSTM\"")]
    [TestCase("layers", 0L, "architecture.layers: layer count 0 is outside 1..16")]
    [TestCase("layers", 17L, "layer count 17 is outside 1..16")]
    [TestCase("hidden", 0L, "architecture.hidden: hidden size 0 is outside 1..8192")]
    [TestCase("hidden", 8193L, "hidden size 8193 is outside 1..8192")]
    [TestCase("embedding", -1L, "architecture.embedding: embedding size -1 is outside 0..8192")]
    [TestCase("layers", 1.0, "architecture.layers: expected an integer, found float 64")]
    public void ArchitectureOutOfRangeIsRefused(string key, object value, string fragment)
    {
        var document = Document();
        document.Architecture[key] = value;

        ModelFileAssert.Refuses(document.Compose(), fragment);
    }

    [Test]
    public void DuplicateVocabularyEntryIsRefused()
    {
        var document = Document();
        var vocabulary = (List<object>)document.Architecture["vocabulary"];
        vocabulary[7] = vocabulary[2];

        var e = ModelFileAssert.Refuses(document.Compose(), "architecture.vocabulary[7]: vocabulary entry 7 (U+0022) duplicates entry 2");
        Assert.That(e.KeyPath, Is.EqualTo("architecture.vocabulary[7]"));
    }

    [TestCase(0xD800L, "(0xD800) is not a Unicode scalar value")]
    [TestCase(0xDFFFL, "(0xDFFF) is not a Unicode scalar value")]
    [TestCase(0x110000L, "(0x110000) is not a Unicode scalar value")]
    [TestCase(-1L, "is not a Unicode scalar value")]
    [TestCase(1L << 40, "is not a Unicode scalar value")]
    public void VocabularyEntryThatIsNotAUnicodeScalarIsRefused(long entry, string fragment)
    {
        var document = Document();
        ((List<object>)document.Architecture["vocabulary"])[4] = entry;

        ModelFileAssert.Refuses(document.Compose(), "architecture.vocabulary[4]: vocabulary entry 4", fragment);
    }

    [Test]
    public void EmptyVocabularyIsRefused()
    {
        var document = Document();
        document.Architecture["vocabulary"] = new List<object>();

        ModelFileAssert.Refuses(document.Compose(), "architecture.vocabulary: the array declares 0 elements; 1 to 65536 are allowed here");
    }

    // ---- tensors ----

    [Test]
    public void WrongShapeIsRefused()
    {
        var document = Document();
        document.Tensor(2)["shape"] = new List<object> { 16L, 5L };
        document.Tensor(2)["data"] = new TensorData(new byte[16 * 5 * 4]);

        var e = ModelFileAssert.Refuses(document.Compose(), "tensors[2].shape[1]: rnn.weight_hh_l0 must have shape (16, 4) for this architecture; dimension 1 is 5");
        Assert.That(e.KeyPath, Is.EqualTo("tensors[2].shape[1]"));
    }

    [Test]
    public void TransposedShapeIsRefused()
    {
        var document = Document();
        document.Tensor(1)["shape"] = new List<object> { 3L, 16L };

        ModelFileAssert.Refuses(document.Compose(), "rnn.weight_ih_l0 must have shape (16, 3) for this architecture; dimension 0 is 3");
    }

    [Test]
    public void WrongRankIsRefused()
    {
        var document = Document();
        document.Tensor(3)["shape"] = new List<object> { 4L, 4L };

        ModelFileAssert.Refuses(document.Compose(), "tensors[3].shape: expected an array of 1 elements, found 2");
    }

    [Test]
    public void DataLengthThatDisagreesWithTheShapeIsRefused()
    {
        var document = Document();
        document.Tensor(3)["data"] = new TensorData(new byte[60]);

        ModelFileAssert.Refuses(document.Compose(), "tensors[3].data: expected 64 bytes of binary data, found a length of 60");
    }

    [Test]
    public void TensorsOutOfCanonicalOrderAreRefused()
    {
        var document = Document();
        (document.Tensors[3], document.Tensors[4]) = (document.Tensors[4], document.Tensors[3]);

        ModelFileAssert.Refuses(document.Compose(), "tensors[3].name: expected tensor \"rnn.bias_ih_l0\" here", "found \"rnn.bias_hh_l0\"");
    }

    [Test]
    public void MissingAndExtraTensorsAreRefused()
    {
        var document = Document();
        document.Tensors.RemoveAt(0);
        ModelFileAssert.Refuses(document.Compose(), "tensors: expected an array of 7 elements, found 6");

        document = Document(embedding: 0);
        document.Tensors.Insert(0, HandBuiltModelFile.From(Model()).Tensor(0));
        ModelFileAssert.Refuses(document.Compose(), "tensors: expected an array of 6 elements, found 7");
    }

    // f16 and q8 are valid dtypes for the embedding matrix, but then its f32 data has the wrong length.
    [TestCase(1L, "tensors[0].data: expected 60 bytes of binary data, found a length of 120")]
    [TestCase(2L, "tensors[0].data: expected 70 bytes of binary data, found a length of 120")]
    [TestCase(3L, "tensors[0].dtype: unknown dtype code 3")]
    [TestCase(-1L, "unknown dtype code -1")]
    public void UnknownDtypeOrDataOfAnotherDtypeIsRefused(long code, string fragment)
    {
        var document = Document();
        document.Tensor(0)["dtype"] = code;

        ModelFileAssert.Refuses(document.Compose(), fragment);
    }

    private static IEnumerable<TestCaseData> NonFiniteWeights()
    {
        // Positions before, inside and after the vectorized blocks of the finiteness scan.
        foreach (int element in new[] { 0, 5, 31, 47 })
        {
            yield return new TestCaseData(float.NaN, element, "NaN");
            yield return new TestCaseData(float.PositiveInfinity, element, "+Infinity");
            yield return new TestCaseData(float.NegativeInfinity, element, "-Infinity");
        }
        yield return new TestCaseData(BitConverter.Int32BitsToSingle(unchecked((int)0xFFC1_2345)), 17, "NaN");
    }

    [TestCaseSource(nameof(NonFiniteWeights))]
    public void NonFiniteWeightIsRefusedAtItsOffset(float value, int element, string name)
    {
        var document = Document();
        byte[] data = ((TensorData)document.Tensor(1)["data"]).Bytes;
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(element * 4), value);
        byte[] bytes = document.Compose();

        var e = ModelFileAssert.Refuses(bytes, $"tensors[1].data: element {element} of rnn.weight_ih_l0 is {name}; weights must be finite");

        Assert.That(BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan((int)e.ByteOffset!.Value)), Is.EqualTo(BitConverter.SingleToInt32Bits(value)), "the offset points at the element");
    }

    // ---- metadata ----

    [TestCase(new byte[] { 0xC3 }, "true")]
    [TestCase(new byte[] { 0xC0 }, "nil")]
    [TestCase(new byte[] { 0x91, 0x01 }, "fixarray")]
    [TestCase(new byte[] { 0xC4, 0x01, 0x00 }, "bin 8")]
    public void MetadataValueThatIsNeitherStringNorNumberIsRefused(byte[] value, string found)
    {
        var document = Document();
        document.Metadata["steps"] = new Raw(value);

        ModelFileAssert.Refuses(document.Compose(), $"metadata.steps: a metadata value must be a string or a number, found {found}");
    }

    [TestCase(double.NaN)]
    [TestCase(double.PositiveInfinity)]
    public void NonFiniteMetadataNumberIsRefused(double value)
    {
        var document = Document();
        document.Metadata["validation_loss"] = value;

        ModelFileAssert.Refuses(document.Compose(), "metadata.validation_loss: metadata numbers must be finite");
    }

    [Test]
    public void MetadataNumbersFromOtherWritersAreRead()
    {
        var document = Document();
        document.Metadata["steps"] = 12000L;
        document.Metadata["loss"] = new Raw(0xCA, 0x3F, 0xC0, 0x00, 0x00);

        var read = ModelFile.Read(document.Compose(), "other-writer.tgm");

        Assert.That(read.Metadata["steps"].Number, Is.EqualTo(12000.0));
        Assert.That(read.Metadata["loss"].Number, Is.EqualTo(1.5));
    }

    [Test]
    public void EmptyMetadataKeyIsRefused()
    {
        var document = Document();
        document.Metadata[""] = "x";

        ModelFileAssert.Refuses(document.Compose(), "metadata key: metadata keys must not be empty");
    }

    [Test]
    public void TooManyMetadataEntriesAreRefused()
    {
        var document = Document();
        for (int i = 0; i < 1025; i++) document.Metadata[$"k{i:D4}"] = (long)i;

        ModelFileAssert.Refuses(document.Compose(), "metadata: the map declares");
    }

    [Test]
    public void EmptyMetadataIsAllowed()
    {
        var architecture = RandomModels.Architecture(CellKind.Rnn);
        var model = new ModelFile(architecture, RandomModels.Create(architecture).Tensors, new Dictionary<string, MetadataValue>());

        Assert.That(ModelFile.Read(model.ToBytes(), "bare.tgm").Metadata, Is.Empty);
    }

    // ---- the constructor holds contents to the same rules ----

    [Test]
    public void ConstructorRefusesTensorsThatDoNotMatchTheArchitecture()
    {
        var architecture = RandomModels.Architecture(CellKind.Gru);
        var tensors = RandomModels.Create(architecture).Tensors.ToList();
        var metadata = new Dictionary<string, MetadataValue>();

        Assert.That(() => new ModelFile(architecture, tensors.Take(6).ToList(), metadata), Throws.ArgumentException.With.Message.Contains("the architecture needs 7 tensors"));

        var swapped = tensors.ToList();
        (swapped[1], swapped[2]) = (swapped[2], swapped[1]);
        Assert.That(() => new ModelFile(architecture, swapped, metadata), Throws.ArgumentException.With.Message.Contains("tensor 1 is \"rnn.weight_hh_l0\" but the architecture needs \"rnn.weight_ih_l0\""));

        var reshaped = tensors.ToList();
        reshaped[1] = ModelTensor.FromFloat32("rnn.weight_ih_l0", new[] { 4, 24 }, tensors[1].ToFloat32Array());
        Assert.That(() => new ModelFile(architecture, reshaped, metadata), Throws.ArgumentException.With.Message.Contains("has shape (4, 24) but the architecture needs (24, 4)"));

        var shortData = tensors.ToList();
        shortData[3] = new ModelTensor("rnn.bias_ih_l0", TensorDType.F32, new[] { 24 }, new byte[95]);
        Assert.That(() => new ModelFile(architecture, shortData, metadata), Throws.ArgumentException.With.Message.Contains("holds 95 bytes but its f32 shape needs 96"));

        var half = tensors.ToList();
        half[3] = new ModelTensor("rnn.bias_ih_l0", TensorDType.F16, new[] { 24 }, new byte[48]);
        Assert.That(() => new ModelFile(architecture, half, metadata), Throws.ArgumentException.With.Message.Contains("dtype f16 is for matrices; vectors (biases) are always f32"));
    }

    [TestCase(float.NaN, "NaN")]
    [TestCase(float.NegativeInfinity, "-Infinity")]
    public void ConstructorRefusesNonFiniteWeights(float value, string name)
    {
        var architecture = RandomModels.Architecture(CellKind.Rnn);
        var tensors = RandomModels.Create(architecture).Tensors.ToList();
        float[] values = tensors[0].ToFloat32Array();
        values[13] = value;
        tensors[0] = ModelTensor.FromFloat32(tensors[0].Name, tensors[0].Shape, values);

        Assert.That(() => new ModelFile(architecture, tensors, new Dictionary<string, MetadataValue>()),
            Throws.ArgumentException.With.Message.Contains($"element 13 of embedding.weight is {name}; weights must be finite"));
    }

    [Test]
    public void ConstructorRefusesMetadataThatCannotBeWritten()
    {
        var architecture = RandomModels.Architecture(CellKind.Rnn);
        var tensors = RandomModels.Create(architecture).Tensors;
        ModelFile With(string key, MetadataValue value) => new(architecture, tensors, new Dictionary<string, MetadataValue> { [key] = value });

        Assert.That(() => With("", "x"), Throws.ArgumentException.With.Message.Contains("metadata keys must not be empty"));
        Assert.That(() => With(new string('k', 257), "x"), Throws.ArgumentException.With.Message.Contains("is 257 UTF-8 bytes; the limit is 256"));
        Assert.That(() => With("é", new string('é', 32769)), Throws.ArgumentException.With.Message.Contains("is 65538 UTF-8 bytes; the limit is 65536"));
        Assert.That(() => With("loss", double.NaN), Throws.ArgumentException.With.Message.Contains("metadata numbers must be finite"));
        Assert.That(() => With("bad\uD800", "x"), Throws.ArgumentException.With.Message.Contains("lone surrogate"));
        Assert.That(() => With("name", "half a dragon \uD83D"), Throws.ArgumentException.With.Message.Contains("lone surrogate"));

        var many = Enumerable.Range(0, 1025).ToDictionary(i => $"k{i}", i => (MetadataValue)i);
        Assert.That(() => new ModelFile(architecture, tensors, many), Throws.ArgumentException.With.Message.Contains("1025 metadata entries; the limit is 1024"));
    }

    [Test]
    public void ConstructorAcceptsTheLimitsExactly()
    {
        var architecture = RandomModels.Architecture(CellKind.Rnn);
        var metadata = Enumerable.Range(0, 1023).ToDictionary(i => $"k{i}", i => (MetadataValue)i);
        metadata[new string('k', 256)] = new string('v', 65536);

        var model = new ModelFile(architecture, RandomModels.Create(architecture).Tensors, metadata);

        Assert.That(ModelFile.Read(model.ToBytes(), "limits.tgm").Metadata, Is.EquivalentTo(metadata));
    }

    [Test]
    public void FromFloat32RefusesAShapeThatDoesNotHoldTheValues()
    {
        Assert.That(() => ModelTensor.FromFloat32("t", new[] { 2, 3 }, new float[5]), Throws.ArgumentException.With.Message.Contains("shape (2, 3) does not hold 5 values"));
    }
}
