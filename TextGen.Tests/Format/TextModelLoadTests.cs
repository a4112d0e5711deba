using System.Buffers.Binary;
using MessagePack;
using TextGen.Runtime.Format;
using TextGen.Runtime.Kernels;
using TextGen.Runtime.Model;

namespace TextGen.Tests.Format;

/// <summary>
/// <c>TextModel.Load</c>'s one-pass path (each f32 tensor copied once into the array the weights keep, checked as it
/// is copied, hashed on a helper thread for files of a megabyte or more) against the plain path, <c>ModelFile.Read</c>
/// then <c>TextModel.FromFile</c>: the same weights bit for bit, and the same refusal for every damaged file.
/// </summary>
public sealed class TextModelLoadTests
{
    private static readonly ModelLoadOptions WithHelper = new() { UseHelperThread = true };
    private static readonly ModelLoadOptions WithoutHelper = new() { UseHelperThread = false };

    // Two LSTM layers of 256: 3.2 MB, so the load asks for helpers to hash it (one on this 2-core machine).
    private static readonly Lazy<byte[]> LargeFile = new(() => RandomModels.Create(RandomModels.Architecture(CellKind.Lstm, layers: 2, hidden: 256, embedding: 16, vocab: 40), seed: 11).ToBytes());

    // The premise of the tests below: the file earns helpers, one per MiB (three given the cores).
    [Test]
    public void TheLargeFileIsLargeEnoughForHelperThreads()
    {
        Assert.That(TensorDigest.HelperThreadsFor(TensorDigestScheme.Pieces, LargeFile.Value.Length, processors: 8), Is.EqualTo(3));
    }

    [Test]
    public void TheModelKeepsTheFilesMetadata()
    {
        ModelFile random = ModelFile.Read(LargeFile.Value, "large");
        var metadata = new Dictionary<string, MetadataValue> { ["corpus"] = MetadataValue.FromString("tiny.txt"), ["steps"] = MetadataValue.FromNumber(3400), ["val_loss"] = MetadataValue.FromNumber(1.4091) };
        byte[] bytes = new ModelFile(random.Architecture, random.Tensors, metadata).ToBytes();

        TextModel model = TextModel.Load(bytes, "large");

        Assert.That(model.Metadata, Is.EquivalentTo(metadata));
        Assert.That(model.Metadata.Keys, Is.EqualTo(new[] { "corpus", "steps", "val_loss" }), "in the file's (ordinal) order");
    }

    [TestCase(TensorDType.F32, true)]
    [TestCase(TensorDType.F32, false)]
    [TestCase(TensorDType.F16, true)]
    [TestCase(TensorDType.Q8, true)]
    public void LoadingGivesTheSameWeightsAsReadingThenBuilding(TensorDType dtype, bool helper)
    {
        ModelFile file = ModelFile.Read(LargeFile.Value, "large").ConvertTo(dtype);
        byte[] bytes = file.ToBytes();

        TextModel loaded = TextModel.Load(bytes, "large", helper ? WithHelper : WithoutHelper);
        TextModel built = TextModel.FromFile(ModelFile.Read(bytes, "large"));

        Assert.That(loaded.Fingerprint, Is.EqualTo(built.Fingerprint));
        Assert.That(Contents(loaded.Weights), Is.EqualTo(Contents(built.Weights)));
    }

    [Test]
    public void TheModelKeepsNoReferenceToTheCallersBytes()
    {
        byte[] bytes = (byte[])LargeFile.Value.Clone();
        TextModel model = TextModel.Load(bytes, "large");
        string expected = TextModel.Load(LargeFile.Value, "large").CreateGenerator(new() { Seed = 3 }).GenerateString(80);

        bytes.AsSpan().Fill(0xFF); // every weight a NaN, had the model kept these bytes

        Assert.That(model.CreateGenerator(new() { Seed = 3 }).GenerateString(80), Is.EqualTo(expected));
    }

    private static IEnumerable<TestCaseData> DamagedLargeFiles()
    {
        byte[] file = LargeFile.Value;
        var layout = MessagePackLayout.Of(file);
        var tensors = layout.Values.Where(v => !v.IsKey && v.Type == MessagePackType.Binary && v.Path.StartsWith("tensors[", StringComparison.Ordinal)).ToList();
        var last = tensors[^1];

        byte[] nanInLastTensor = (byte[])file.Clone();
        BinaryPrimitives.WriteSingleLittleEndian(nanInLastTensor.AsSpan(last.PayloadStart + 4 * 7), float.NaN);
        yield return new TestCaseData(nanInLastTensor, "element 7 of head.bias is NaN").SetArgDisplayNames("NaN in the last tensor");

        byte[] infinityLate = (byte[])file.Clone();
        BinaryPrimitives.WriteSingleLittleEndian(infinityLate.AsSpan(tensors[^3].PayloadStart + 4 * 5000), float.NegativeInfinity);
        yield return new TestCaseData(infinityLate, "is -Infinity").SetArgDisplayNames("-Infinity in a later chunk of a large tensor");

        // rnn.weight_hh_l0 is 1 MiB: element 200,000 lies in its fourth piece of TensorDigest.PieceBytes, which a
        // helper may be hashing already when the loading thread finds it.
        byte[] nanInALaterPart = (byte[])file.Clone();
        BinaryPrimitives.WriteSingleLittleEndian(nanInALaterPart.AsSpan(tensors[2].PayloadStart + 4 * 200_000), float.NaN);
        yield return new TestCaseData(nanInALaterPart, "element 200000 of rnn.weight_hh_l0 is NaN").SetArgDisplayNames("NaN in a later part of a large tensor");

        byte[] weightChanged = (byte[])file.Clone();
        weightChanged[tensors[2].PayloadStart + 1001] ^= 0x01;
        yield return new TestCaseData(weightChanged, "tensor_sha256: checksum mismatch").SetArgDisplayNames("a weight changed");

        // The last byte of the last part: the model is built by then, and must still be refused.
        byte[] lastWeightChanged = (byte[])file.Clone();
        lastWeightChanged[last.End - 1] ^= 0x01;
        yield return new TestCaseData(lastWeightChanged, "tensor_sha256: checksum mismatch").SetArgDisplayNames("the last weight byte changed");

        byte[] metadataChanged = (byte[])file.Clone();
        var metadataKey = layout.FindKey("metadata")!;
        metadataChanged[metadataKey.Offset + 1] ^= 0x20; // "metadata" becomes "Metadata": a missing key after every tensor
        yield return new TestCaseData(metadataChanged, "missing required key").SetArgDisplayNames("broken after the tensors");

        var headerDigest = layout.Find(ModelFileSchema.HeaderSha256Key, MessagePackType.Binary)!;
        byte[] headerDigestChanged = (byte[])file.Clone();
        headerDigestChanged[headerDigest.PayloadStart] ^= 0x80;
        yield return new TestCaseData(headerDigestChanged, "header_sha256: checksum mismatch").SetArgDisplayNames("header digest changed");

        yield return new TestCaseData(file.AsSpan(0, last.Offset - 100).ToArray(), "truncated").SetArgDisplayNames("truncated in a late tensor");
        yield return new TestCaseData(file.Concat(new byte[] { 0xC0 }).ToArray(), "unexpected bytes after the end").SetArgDisplayNames("a trailing byte");
    }

    [TestCaseSource(nameof(DamagedLargeFiles))]
    public void EveryLoadPathRefusesADamagedFileWithTheReadersMessage(byte[] bytes, string fragment)
    {
        var expected = Assert.Throws<ModelFormatException>(() => ModelFile.Read(bytes, "large"))!;
        Assert.That(expected.Message, Does.Contain(fragment));

        string path = Path.Combine(Path.GetTempPath(), $"textgen-load-{Guid.NewGuid():N}.tgm");
        File.WriteAllBytes(path, bytes);
        try
        {
            var refusals = new (string How, Action Load)[]
            {
                ("memory, helper thread", () => TextModel.Load(bytes, "large", WithHelper)),
                ("memory, one thread", () => TextModel.Load(bytes, "large", WithoutHelper)),
                ("stream", () => TextModel.Load(new MemoryStream(bytes), "large")),
                ("path", () => TextModel.Load(path)),
            };
            foreach (var (how, load) in refusals)
            {
                var e = Assert.Throws<ModelFormatException>(() => load())!;
                string message = how == "path" ? e.Message.Replace(path, "large", StringComparison.Ordinal) : e.Message;
                Assert.That(message, Is.EqualTo(expected.Message), how);
                Assert.That(e.ByteOffset, Is.EqualTo(expected.ByteOffset), how);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void ConcurrentLoadsEachGetTheirOwnDigest()
    {
        // More loads than cores, so helpers queue behind each other and some loads hash on their own thread. Every
        // other load reads a copy with one weight changed late in the file: a digest handed to the wrong load would
        // let a damaged copy in or refuse an intact one.
        byte[] damaged = (byte[])LargeFile.Value.Clone();
        damaged[damaged.Length - 1000] ^= 0x40;
        var loads = Enumerable.Range(0, 8).Select(i => Task.Run<(List<int[]>? Contents, string Error)>(() =>
        {
            try
            {
                return (Contents(TextModel.Load(i % 2 == 0 ? LargeFile.Value : damaged, $"load {i}").Weights), "");
            }
            catch (ModelFormatException e)
            {
                return (null, e.Message);
            }
        })).ToArray();
        Task.WaitAll(loads);

        var intact = Contents(TextModel.FromFile(ModelFile.Read(LargeFile.Value, "large")).Weights);
        for (int i = 0; i < loads.Length; i++)
        {
            var (contents, error) = loads[i].Result;
            if (i % 2 == 0) Assert.That((contents, error), Is.EqualTo((intact, "")), $"load {i} of the intact file");
            else Assert.That(error, Does.StartWith($"load {i}: tensor_sha256: checksum mismatch"), $"load {i} of the damaged copy");
        }
    }

    // Every value a model's weights hold, in a fixed order, as raw bits: the matrices' views, not their storage arrays,
    // whose elements before and after an aligned matrix are unspecified.
    internal static List<int[]> Contents(ModelWeights weights)
    {
        static int[] Bits(ReadOnlySpan<float> values) => values.ToArray().Select(BitConverter.SingleToInt32Bits).ToArray();
        static IEnumerable<int[]> Rows(WeightRows rows) => new[]
        {
            new[] { (int)rows.DType, rows.Rows, rows.Columns }, Bits(rows.FloatSpan), rows.HalfSpan.ToArray().Select(h => (int)h).ToArray(),
            rows.QuantSpan.ToArray().Select(q => (int)q).ToArray(), Bits(rows.Scales),
        };
        var contents = new List<int[]> { Bits(weights.Embedding), Bits(weights.InputTable), Bits(weights.HeadBias) };
        contents.AddRange(Rows(weights.HeadWeight));
        foreach (LayerWeights layer in weights.Layers)
        {
            contents.AddRange(Rows(layer.InputWeights));
            contents.AddRange(Rows(layer.HiddenWeights));
            contents.Add(Bits(layer.Bias));
            contents.Add(Bits(layer.HiddenNewBias));
        }
        return contents;
    }
}
