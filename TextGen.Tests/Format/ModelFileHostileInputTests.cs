using TextGen.Runtime.Format;
using TextGen.Tests.Support;
using static TextGen.Tests.Format.HandBuiltModelFile;

namespace TextGen.Tests.Format;

/// <summary>
/// Files crafted to make a naive reader allocate gigabytes, recurse until the stack overflows or read past the end.
/// Each must be refused by a header check before any allocation: the reader's allocations stay within a small budget.
/// </summary>
public sealed class ModelFileHostileInputTests
{
    // A refusal allocates its message, the exception and a few small strings; a naive allocation would be gigabytes.
    private const long AllocationBudget = 256 * 1024;

    private static HandBuiltModelFile Document() => HandBuiltModelFile.From(RandomModels.Create(RandomModels.Architecture(CellKind.Lstm, hidden: 4, embedding: 3, vocab: 10)));

    private static IEnumerable<TestCaseData> InflatedHeaders()
    {
        yield return Case("top-level map32 count 2^32-1", d => FirstByteReplaced(d.Compose(), 0xDF, 0xFF, 0xFF, 0xFF, 0xFF), "the map declares 4294967295 entries");
        yield return Case("architecture map32 count 2^31-1", d => d.Root["architecture"] = new Raw(0xDF, 0x7F, 0xFF, 0xFF, 0xFF), "architecture: the map declares 2147483647 entries");
        yield return Case("vocabulary array32 count 2^32-1", d => d.Architecture["vocabulary"] = new Raw(0xDD, 0xFF, 0xFF, 0xFF, 0xFF, 0x20), "architecture.vocabulary: the array declares 4294967295 elements; 1 to 65536");
        yield return Case("vocabulary array16 count 65535, 1 entry present", d => d.Architecture["vocabulary"] = new Raw(0xDC, 0xFF, 0xFF, 0x20), "only");
        yield return Case("vocabulary count at the limit, most entries missing", d => d.Architecture["vocabulary"] = new Raw(0xDD, 0x00, 0x01, 0x00, 0x00, 0x20, 0x21), "the array declares 65536 elements but only");
        yield return Case("tensors array32 count 2^31-1", d => d.Root["tensors"] = new Raw(0xDD, 0x7F, 0xFF, 0xFF, 0xFF), "tensors: expected an array of 7 elements, found 2147483647");
        yield return Case("tensors array32 count 2^32-1", d => d.Root["tensors"] = new Raw(0xDD, 0xFF, 0xFF, 0xFF, 0xFF), "found 4294967295");
        yield return Case("tensor map32 count 2^32-1", d => d.Tensors[0] = new Raw(0xDF, 0xFF, 0xFF, 0xFF, 0xFF), "tensors[0]: the map declares 4294967295 entries");
        yield return Case("shape array32 count 2^32-1", d => d.Tensor(0)["shape"] = new Raw(0xDD, 0xFF, 0xFF, 0xFF, 0xFF), "tensors[0].shape: expected an array of 2 elements, found 4294967295");
        yield return Case("shape dimension 2^40", d => d.Tensor(1)["shape"] = new List<object> { 1L << 40, 3L }, "tensors[1].shape[0]: rnn.weight_ih_l0 must have shape (16, 3) for this architecture; dimension 0 is 1099511627776");
        yield return Case("shape dimension uint64 max", d => d.Tensor(1)["shape"] = new List<object> { new Raw(0xCF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF), 3L }, "tensors[1].shape[0]: the number is too large");
        yield return Case("shape dimension negative", d => d.Tensor(1)["shape"] = new List<object> { -16L, 3L }, "dimension 0 is -16");
        yield return Case("data bin32 length 2^32-1", d => d.Tensor(2)["data"] = new Raw(0xC6, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3), "tensors[2].data: expected 256 bytes of binary data, found a length of 4294967295");
        yield return Case("data bin32 length 2^31", d => d.Tensor(2)["data"] = new Raw(0xC6, 0x80, 0x00, 0x00, 0x00, 1, 2, 3), "found a length of 2147483648");
        yield return Case("data of the right length, cut short", d =>
        {
            d.Tensor(6)["data"] = new Raw(0xC4, 40, 1, 2, 3);
            d.Root.RemoveRange(d.Root.IndexOf("metadata"), 3);
        }, "tensors[6].data: the value declares 40 bytes but only 3 remain: the file is truncated");
        yield return Case("metadata map32 count 2^31-1", d => d.Root["metadata"] = new Raw(0xDF, 0x7F, 0xFF, 0xFF, 0xFF), "metadata: the map declares 2147483647 entries; at most 1024");
        yield return Case("metadata string str32 length 2^32-1", d => d.Metadata["corpus_name"] = new Raw(0xDB, 0xFF, 0xFF, 0xFF, 0xFF, 0x41), "metadata.corpus_name: the string is 4294967295 bytes long; at most 65536");
        yield return Case("metadata string within the limit, cut short", d => d.Metadata["corpus_name"] = new Raw(0xDA, 0xEA, 0x60, 0x41), "the value declares 60000 bytes but only");
        yield return Case("key str32 length 2^32-1", d => d.Root["architecture"] = new Raw(0x81, 0xDB, 0xFF, 0xFF, 0xFF, 0xFF, 0x41), "architecture key: the string is 4294967295 bytes long; at most 256");
        yield return Case("unknown key holding array32 count 2^32-1", d => d.Root.Insert(2, "future", new Raw(0xDD, 0xFF, 0xFF, 0xFF, 0xFF)), "future: the array declares 4294967295 elements");
        yield return Case("unknown key holding map32 count 2^31-1", d => d.Architecture.Insert(1, "future", new Raw(0xDF, 0x7F, 0xFF, 0xFF, 0xFF)), "architecture.future: the map declares 2147483647 entries but only");
        yield return Case("unknown key holding str32 length 2^32-1", d => d.Tensor(0).Insert(1, "future", new Raw(0xDB, 0xFF, 0xFF, 0xFF, 0xFF)), "tensors[0].future: the value declares 4294967295 bytes");
        yield return Case("unknown key holding bin32 length 2^31-1", d => d.Root.Insert(2, "future", new Raw(0xC6, 0x7F, 0xFF, 0xFF, 0xFF)), "future: the value declares 2147483647 bytes");
        yield return Case("unknown key holding ext32 length 2^32-1", d => d.Root.Insert(2, "future", new Raw(0xC9, 0xFF, 0xFF, 0xFF, 0xFF, 0x01)), "future: the file ends inside this value");
        yield return Case("unknown key nested 100000 arrays deep", d => d.Root.Insert(2, "future", new Raw(Enumerable.Repeat((byte)0x91, 100_000).Append((byte)0xC0).ToArray())), "future: values nest deeper than 8 levels");
        yield return Case("unknown key nested 100000 maps deep", d => d.Architecture.Insert(0, "future", new Raw(Enumerable.Range(0, 100_000).SelectMany(_ => new byte[] { 0x81, 0xA1, 0x6B }).Append((byte)0xC0).ToArray())), "architecture.future: values nest deeper than 8 levels");
        yield return Case("65 unknown keys in one map", d => { for (int i = 0; i < 65; i++) d.Root.Insert(2, $"future{i}", 0L); }, "the map declares 72 entries; at most 71");
        yield return Case("key of 300 bytes", d => d.Root.Insert(2, new string('k', 300), 0L), "top-level key: the string is 300 bytes long; at most 256");
        yield return Case("architecture of maximal size in a tiny file", d =>
        {
            d.Architecture["hidden"] = 8192L;
            d.Architecture["embedding"] = 8192L;
            d.Tensor(0)["shape"] = new List<object> { 10L, 8192L };
            d.Tensor(0)["data"] = new TensorData(new byte[10 * 8192 * 4]);
            d.Tensor(1)["shape"] = new List<object> { 32768L, 8192L };
            d.Tensor(1)["data"] = new Raw(0xC6, 0x40, 0x00, 0x00, 0x00, 1, 2, 3, 4);
        }, "tensors[1].data: the value declares 1073741824 bytes but only");
    }

    private static TestCaseData Case(string name, Func<HandBuiltModelFile, byte[]> build, string fragment)
        => new TestCaseData(build(Document()), fragment).SetArgDisplayNames(name);

    private static TestCaseData Case(string name, Action<HandBuiltModelFile> edit, string fragment)
        => Case(name, d =>
        {
            edit(d);
            return d.Compose();
        }, fragment);

    private static byte[] FirstByteReplaced(byte[] bytes, params byte[] header) => header.Concat(bytes.Skip(1)).ToArray();

    [TestCaseSource(nameof(InflatedHeaders))]
    public void InflatedHeaderIsRefusedBeforeAllocating(byte[] bytes, string fragment)
    {

        // The first read pays for JIT compilation and first-throw setup, which are not the reader's allocations.
        Assert.That(ModelFileAssert.OutcomeOtherThanRefusal(bytes), Is.Null);
        string? outcome = null;
        long allocated = ThreadAllocations.During(() => outcome = ModelFileAssert.OutcomeOtherThanRefusal(bytes));

        Assert.That(outcome, Is.Null);
        Assert.That(allocated, Is.LessThan(AllocationBudget + bytes.Length));
        ModelFileAssert.Refuses(bytes, fragment);
    }

    [Test]
    public void TensorAboveTheElementLimitIsRefusedBeforeItsData()
    {
        // One-hot with the largest vocabulary makes rnn.weight_ih_l0 (4*hidden, 65536) exceed 2^28 elements.
        int[] vocabulary = Enumerable.Range(0x10000, 65536).ToArray();
        var document = HandBuiltModelFile.From(RandomModels.Create(new ModelArchitecture(CellKind.Lstm, 1, 1, 0, new[] { 1, 2 })));
        document.Architecture["hidden"] = 1100L;
        document.Architecture["vocabulary"] = vocabulary.Select(v => (object)(long)v).ToList();
        document.Tensor(0)["shape"] = new List<object> { 4400L, 65536L };
        document.Tensor(0)["data"] = new Raw(0xC6, 0xFF, 0xFF, 0xFF, 0xFF);

        ModelFileAssert.Refuses(document.Compose(), "tensors[0].shape", "the tensor has 288358400 elements; the limit is 268435456");
    }

    [Test]
    public void MemoryLargerThanTheFileLimitIsRefusedWithoutReadingIt()
    {
        // Never written, so the pages of this array are never touched.
        byte[] huge = GC.AllocateUninitializedArray<byte>(ModelFile.MaxFileBytes + 1);

        var e = Assert.Throws<ModelFormatException>(() => ModelFile.Read(huge, "huge.tgm"))!;

        Assert.That(e.Message, Does.Contain($"the file is {ModelFile.MaxFileBytes + 1} bytes; the limit is {ModelFile.MaxFileBytes}"));
    }
}
