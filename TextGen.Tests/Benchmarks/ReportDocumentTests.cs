using TextGen.Benchmarks.Report;

namespace TextGen.Tests.Benchmarks;

/// <summary>The report's section replaced between its markers, with the file's own line endings, and bad markers refused by name.</summary>
public sealed class ReportDocumentTests
{
    private const string Begin = ReportDocument.Begin, End = ReportDocument.End;

    [Test]
    public void ReplacesOnlyTheLinesBetweenTheMarkers()
    {
        string document = $"before\n{Begin}\nold 1\nold 2\n{End}\nafter\n";

        string result = ReportDocument.Replace(document, "new 1\nnew 2\nnew 3\n\n", "doc.md");

        Assert.That(result, Is.EqualTo($"before\n{Begin}\nnew 1\nnew 2\nnew 3\n{End}\nafter\n"));
        Assert.That(ReportDocument.Replace(result, "old 1\nold 2", "doc.md"), Is.EqualTo(document), "a second run replaces the first");
    }

    [Test]
    public void KeepsWindowsLineEndings()
    {
        string document = $"before\r\n{Begin}\r\n{End}\r\nafter";

        Assert.That(ReportDocument.Replace(document, "a\nb", "doc.md"), Is.EqualTo($"before\r\n{Begin}\r\na\r\nb\r\n{End}\r\nafter"));
    }

    [TestCase("before\n" + End + "\n", "doc.md: no line \"" + Begin + "\"")]
    [TestCase(Begin + "\n", "doc.md: no line \"" + End + "\"")]
    [TestCase(Begin + "\n" + Begin + "\n" + End + "\n", "appears 2 times")]
    [TestCase(End + "\n" + Begin + "\n", "comes before")]
    public void RefusesMissingRepeatedOrReversedMarkers(string document, string message)
    {
        var e = Assert.Throws<InvalidDataException>(() => ReportDocument.Replace(document, "x", "doc.md"));

        Assert.That(e!.Message, Does.Contain(message));
    }
}
