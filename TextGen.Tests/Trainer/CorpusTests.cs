using System.Text;
using TextGen.Trainer.Data;

namespace TextGen.Tests.Trainer;

public sealed class CorpusTests
{
    private TrainingSandbox _sandbox = null!;

    [SetUp]
    public void SetUp() => _sandbox = new TrainingSandbox();

    [TearDown]
    public void TearDown() => _sandbox.Dispose();

    [Test]
    public void MissingFileIsNamed()
    {
        string path = _sandbox.PathOf("absent.txt");
        var e = Assert.Throws<CorpusException>(() => Corpus.Load(path))!;
        Assert.That(e.Message, Is.EqualTo($"{path}: no such file"));
    }

    [Test]
    public void DirectoryIsRejected()
    {
        var e = Assert.Throws<CorpusException>(() => Corpus.Load(_sandbox.Root))!;
        Assert.That(e.Message, Is.EqualTo($"{_sandbox.Root}: is a directory, not a text file"));
    }

    [Test]
    [Platform("Linux")]
    public void UnreadableFileSaysWhy()
    {
        // Reading address 0 of one's own memory fails for every user, root included (chmod 000 does not stop root).
        var e = Assert.Throws<CorpusException>(() => Corpus.Load("/proc/self/mem"))!;
        Assert.That(e.Message, Does.StartWith("/proc/self/mem: cannot be read: "));
    }

    [Test]
    public void EmptyFileIsRejected()
    {
        string path = _sandbox.WriteBytes("empty.txt", []);
        Assert.That(Assert.Throws<CorpusException>(() => Corpus.Load(path))!.Message, Is.EqualTo($"{path}: is empty"));
    }

    [Test]
    public void NulByteMeansBinaryAndGivesItsOffset()
    {
        string path = _sandbox.WriteBytes("utf16.txt", Encoding.Unicode.GetBytes("hello"));
        var e = Assert.Throws<CorpusException>(() => Corpus.Load(path))!;
        Assert.That(e.Message, Does.StartWith($"{path}: looks binary: NUL byte at byte offset 1"));
    }

    [TestCase("utf-16")]
    [TestCase("utf-16BE")]
    public void AUtf16FileWithItsByteOrderMarkIsNamedAsUtf16(string encoding)
    {
        var utf16 = Encoding.GetEncoding(encoding);
        string path = _sandbox.WriteBytes("utf16.txt", [.. utf16.GetPreamble(), .. utf16.GetBytes("hello")]);
        var e = Assert.Throws<CorpusException>(() => Corpus.Load(path))!;
        Assert.That(e.Message, Is.EqualTo($"{path}: is UTF-16 (it starts with a UTF-16 byte order mark); save it as UTF-8"));
    }

    [TestCase(new byte[] { (byte)'a', (byte)'b', 0xFF, (byte)'c' }, 2, TestName = "InvalidUtf8_StrayByte")]
    [TestCase(new byte[] { (byte)'a', 0xC3 }, 1, TestName = "InvalidUtf8_TruncatedSequence")]
    [TestCase(new byte[] { (byte)'x', (byte)'y', (byte)'z', 0xED, 0xA0, 0x80 }, 3, TestName = "InvalidUtf8_EncodedSurrogate")]
    [TestCase(new byte[] { 0xC0, 0xAF }, 0, TestName = "InvalidUtf8_Overlong")]
    public void InvalidUtf8GivesTheByteOffset(byte[] bytes, int offset)
    {
        string path = _sandbox.WriteBytes("bad.txt", bytes);
        var e = Assert.Throws<CorpusException>(() => Corpus.Load(path))!;
        Assert.That(e.Message, Is.EqualTo($"{path}: is not valid UTF-8: invalid byte sequence at byte offset {offset}"));
    }

    [Test]
    public void DecodesScalarsAndSkipsTheByteOrderMark()
    {
        string path = _sandbox.WriteBytes("bom.txt", [.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes("aé😀\n")]);
        var corpus = Corpus.Load(path);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(corpus.Scalars, Is.EqualTo(new[] { 'a', 0xE9, 0x1F600, '\n' }));
            Assert.That(corpus.Name, Is.EqualTo("bom.txt"));
            Assert.That(corpus.Sha256, Has.Length.EqualTo(64).And.Match("^[0-9a-f]+$"));
        }
    }

    [Test]
    public void TooShortForOneBatchNamesTheSizes()
    {
        string path = _sandbox.WriteBytes("short.txt", Encoding.UTF8.GetBytes(new string('a', 60)));
        var e = Assert.Throws<CorpusException>(() => TrainingData.Split(Corpus.Load(path), 0.1, batch: 4, seqLen: 16))!;
        Assert.That(e.Message, Does.StartWith($"{path}: is too short: it has 60 characters").And.Contain("training part").And.Contain("has 54").And.Contain("needs 65 (--batch 4 × --seq-len 16 + 1)"));
    }

    [Test]
    public void TooShortForValidationSaysSo()
    {
        string path = _sandbox.WriteBytes("short.txt", Encoding.UTF8.GetBytes(new string('a', 70)));
        var e = Assert.Throws<CorpusException>(() => TrainingData.Split(Corpus.Load(path), 0.01, batch: 4, seqLen: 16))!;
        Assert.That(e.Message, Does.Contain("too short for validation").And.Contain("--val-fraction 0.01 leaves 1 character"));
    }
}
