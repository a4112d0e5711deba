using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using TextGen.Runtime.Format;
using TextGen.Tests.Support;

namespace TextGen.Tests.Format;

/// <summary>docs/format.md is the specification; these tests keep its example and its limits true.</summary>
public sealed partial class FormatDocumentationTests
{
    private static string Specification() => File.ReadAllText(Repository.PathOf("docs", "format.md"));

    /// <summary>The example model described in prose in docs/format.md.</summary>
    private static ModelFile ExampleModel() => new(
        new ModelArchitecture(CellKind.Rnn, layers: 1, hiddenSize: 1, embeddingSize: 0, new[] { (int)'a', 'b' }),
        new[]
        {
            ModelTensor.FromFloat32("rnn.weight_ih_l0", new[] { 1, 2 }, new[] { 0.5f, -0.5f }),
            ModelTensor.FromFloat32("rnn.weight_hh_l0", new[] { 1, 1 }, new[] { 0.25f }),
            ModelTensor.FromFloat32("rnn.bias_ih_l0", new[] { 1 }, new[] { 0.125f }),
            ModelTensor.FromFloat32("rnn.bias_hh_l0", new[] { 1 }, new[] { 0f }),
            ModelTensor.FromFloat32("head.weight", new[] { 2, 1 }, new[] { 1f, -1f }),
            ModelTensor.FromFloat32("head.bias", new[] { 2 }, new[] { 0f, 0.5f }),
        },
        new Dictionary<string, MetadataValue> { ["corpus_name"] = "ab", ["steps"] = 100 });

    [GeneratedRegex(@"^(?<offset>[0-9a-f]{4})  (?<bytes>[0-9a-f]{2}(?: [0-9a-f]{2})*)", RegexOptions.Multiline)]
    private static partial Regex ListingLine();

    [Test]
    public void ExampleListingIsExactlyWhatTheRuntimeWrites()
    {
        string specification = Specification();
        int begin = specification.IndexOf("<!-- example:begin -->", StringComparison.Ordinal);
        int end = specification.IndexOf("<!-- example:end -->", StringComparison.Ordinal);
        Assert.That(begin, Is.GreaterThan(0));
        Assert.That(end, Is.GreaterThan(begin));

        var listed = new List<byte>();
        foreach (Match line in ListingLine().Matches(specification[begin..end]))
        {
            Assert.That(int.Parse(line.Groups["offset"].Value, NumberStyles.HexNumber), Is.EqualTo(listed.Count), $"offset of line \"{line.Value}\"");
            listed.AddRange(line.Groups["bytes"].Value.Split(' ').Select(h => byte.Parse(h, NumberStyles.HexNumber)));
        }

        var model = ExampleModel();
        Assert.That(listed.ToArray(), Is.EqualTo(model.ToBytes()));
        Assert.That(specification, Does.Contain($"Its {listed.Count} bytes"));
        Assert.That(specification, Does.Contain($"Its `tensor_sha256` is `{model.TensorSha256}`"));
        Assert.That(ModelFile.Read(listed.ToArray(), "format.md example").TensorSha256, Is.EqualTo(model.TensorSha256));
    }

    [Test]
    public void EveryLimitIsDocumentedWithItsValue()
    {
        string[] lines = Specification().Split('\n');
        var limits = new[] { typeof(ModelFile), typeof(ModelArchitecture) }
            .SelectMany(type => type.GetFields(BindingFlags.Public | BindingFlags.Static)
                .Where(f => f.IsLiteral && f.Name.StartsWith("Max", StringComparison.Ordinal))
                .Select(f => (Name: $"`{type.Name}.{f.Name}`", Value: Convert.ToString(f.GetRawConstantValue(), CultureInfo.InvariantCulture)!)))
            .ToList();
        Assert.That(limits, Has.Count.EqualTo(11));

        foreach (var (name, value) in limits)
        {
            string? row = lines.FirstOrDefault(l => l.StartsWith("| " + name, StringComparison.Ordinal));
            Assert.That(row, Is.Not.Null, $"{name} has a row in the limits table");
            Assert.That(row, Does.Contain($"| {value}"), $"{name} is documented as {value}");
        }
    }

    [Test]
    public void AllocationBoundIsTheDocumentedOne()
    {
        Assert.That(Specification(), Does.Contain($"{ModelFileAllocation.BytesPerFileByte}·N + {ModelFileAllocation.FixedBytes} bytes"));
    }

    [Test]
    public void VersionAndMagicAreTheDocumentedOnes()
    {
        string specification = Specification();

        Assert.That(specification, Does.StartWith($"# The `*.tgm` weight-file format, version {ModelFile.FormatMajorVersion}.{ModelFile.FormatMinorVersion}"));
        Assert.That(specification, Does.Contain($"Always `\"{ModelFile.Magic}\"`"));
    }
}
