using TextGen.Runtime.Format;
using TextGen.Runtime.Model;
using TextGen.Tests.Support;

namespace TextGen.Tests.Format;

/// <summary>
/// The shapes of file that cost the most memory per byte to load, each held to the bound of
/// <see cref="ModelFileAllocation"/>; the mutation tests hold a hundred thousand damaged files to it as well.
/// </summary>
public sealed class ModelFileAllocationTests
{
    private static IEnumerable<TestCaseData> CostliestShapes()
    {
        int[] scalars = Enumerable.Range(0, 0x10800).Where(ModelArchitecture.IsUnicodeScalar).Take(ModelArchitecture.MaxVocabularySize).ToArray();
        var largestVocabulary = HandBuiltModelFile.From(RandomModels.Create(new ModelArchitecture(CellKind.Rnn, 1, 1, 0, new[] { 1, 2 })));
        largestVocabulary.Architecture["vocabulary"] = scalars.Select(v => (object)(long)v).ToList();
        byte[] composed = largestVocabulary.Compose();
        byte[] cutAfterVocabulary = composed.AsSpan(0, ModelFileAssert.IndexOf(composed, "tensors"u8.ToArray()) + 20).ToArray();
        yield return new TestCaseData(cutAfterVocabulary, false).SetArgDisplayNames("65536-entry vocabulary, refused right after it");
        yield return new TestCaseData(RandomModels.Create(new ModelArchitecture(CellKind.Rnn, 1, 1, 0, scalars)).ToBytes(), true).SetArgDisplayNames("65536-entry vocabulary, one-hot");
        yield return new TestCaseData(RandomModels.Create(new ModelArchitecture(CellKind.Lstm, 1, 64, 1, scalars.Take(2048).ToArray())).ToBytes(), true).SetArgDisplayNames("embedding of 1: input table 4 times the head");

        var small = RandomModels.Create(RandomModels.Architecture(CellKind.Rnn, hidden: 1, embedding: 0, vocab: 2));
        var tinyEntries = Enumerable.Range(0, ModelFile.MaxMetadataEntries).ToDictionary(i => i.ToString("x"), i => (MetadataValue)(double)i);
        yield return new TestCaseData(new ModelFile(small.Architecture, small.Tensors, tinyEntries).ToBytes(), true).SetArgDisplayNames("1024 tiny metadata entries");
        var longEntries = Enumerable.Range(0, ModelFile.MaxMetadataEntries).ToDictionary(i => new string('k', 250) + i, _ => (MetadataValue)new string('v', 4000));
        yield return new TestCaseData(new ModelFile(small.Architecture, small.Tensors, longEntries).ToBytes(), true).SetArgDisplayNames("1024 long metadata entries");
        yield return new TestCaseData(RandomModels.Create(RandomModels.Architecture(CellKind.Gru, layers: 3, hidden: 256, embedding: 64, vocab: 90)).ToBytes(), true).SetArgDisplayNames("an ordinary model");
        // Matrices of exactly 2 MiB (f16) and 4 MiB (f32), whose arrays take up to 2 MiB more to start on a huge page.
        var large = RandomModels.Create(RandomModels.Architecture(CellKind.Lstm, layers: 1, hidden: 512, embedding: 64, vocab: 65));
        yield return new TestCaseData(large.ToBytes(), true).SetArgDisplayNames("f32 matrices on huge pages");
        yield return new TestCaseData(large.ConvertTo(TensorDType.F16).ToBytes(), true).SetArgDisplayNames("f16 matrices on huge pages");
    }

    [TestCaseSource(nameof(CostliestShapes))]
    public void LoadingStaysWithinTheDocumentedBound(byte[] bytes, bool loads)
    {
        // Each shape must end as intended: a valid shape refused early would allocate little and pass unnoticed.
        Assert.That(Load(bytes), Is.EqualTo(loads), loads ? "the file should load" : "the file should be refused");
        long allocated = ThreadAllocations.During(() => Load(bytes)); // the first load compiled the paths

        TestContext.Out.WriteLine($"{bytes.Length} bytes: allocated {allocated} ({(double)allocated / bytes.Length:F2} per byte)");
        Assert.That(allocated, Is.LessThanOrEqualTo(ModelFileAllocation.Budget(bytes.Length)));
    }

    // True when the file loaded, false when it was refused; a refusal is held to the same bound.
    private static bool Load(byte[] bytes)
    {
        try
        {
            TextModel.Load(bytes, ModelFileAssert.Source);
            return true;
        }
        catch (ModelFormatException)
        {
            return false;
        }
    }
}
