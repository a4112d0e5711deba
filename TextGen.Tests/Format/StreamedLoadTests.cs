using MessagePack;
using TextGen.Runtime.Format;
using TextGen.Runtime.Model;
using TextGen.Tests.Support;

namespace TextGen.Tests.Format;

/// <summary>
/// <c>TextModel.Load</c> from a path or a seekable stream, which reads the file only as far as the parse has got and
/// each f32 payload straight into the weights (<see cref="StreamedFileBytes"/>): the same model as loading the bytes,
/// every byte read once, and a file that changes while it is read either loads as one consistent file or is refused.
/// </summary>
public sealed class StreamedLoadTests
{
    // Two LSTM layers of 256 (2.3 MB): large tensors span several TensorDigest parts and the helper thread hashes.
    private static readonly Lazy<byte[]> LargeFile = new(() => RandomModels.Create(RandomModels.Architecture(CellKind.Lstm, layers: 2, hidden: 256, embedding: 16, vocab: 40), seed: 12).ToBytes());

    [TestCase(TensorDType.F32, true)]
    [TestCase(TensorDType.F32, false)]
    [TestCase(TensorDType.F16, true)]
    [TestCase(TensorDType.Q8, true)]
    public void PathAndStreamLoadsGiveTheModelOfTheBytes(TensorDType dtype, bool helper)
    {
        byte[] bytes = ModelFile.Read(LargeFile.Value, "large").ConvertTo(dtype).ToBytes();
        var options = new ModelLoadOptions { UseHelperThread = helper };
        TextModel expected = TextModel.Load(bytes, "large", options);
        string path = Path.Combine(Path.GetTempPath(), $"textgen-streamed-{Guid.NewGuid():N}.tgm");
        File.WriteAllBytes(path, bytes);
        try
        {
            var loads = new (string How, TextModel Model)[]
            {
                ("path", TextModel.Load(path, options)),
                ("seekable stream", TextModel.Load(new MemoryStream(bytes), "large", options)),
                ("stream one byte at a time", TextModel.Load(new TrickleStream(bytes, maxRead: 1), "large", options)),
                ("forward-only stream", TextModel.Load(new ForwardOnlyCopy(bytes), "large", options)),
            };
            foreach (var (how, model) in loads)
            {
                Assert.That(model.Fingerprint, Is.EqualTo(expected.Fingerprint), how);
                Assert.That(TextModelLoadTests.Contents(model.Weights), Is.EqualTo(TextModelLoadTests.Contents(expected.Weights)), how);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void EveryByteIsReadFromTheStreamOnceAndTheModelKeepsNoneOfItsMemory()
    {
        byte[] bytes = (byte[])LargeFile.Value.Clone();
        var stream = new TrickleStream(bytes, maxRead: int.MaxValue);
        TextModel model = TextModel.Load(stream, "large");
        string expected = TextModel.Load(LargeFile.Value, "large").CreateGenerator(new() { Seed = 3 }).GenerateString(80);

        bytes.AsSpan().Fill(0xFF); // every weight a NaN, had the model kept these bytes

        Assert.That(stream.BytesServed, Is.EqualTo(bytes.Length));
        Assert.That(stream.Position, Is.EqualTo(bytes.Length));
        Assert.That(model.CreateGenerator(new() { Seed = 3 }).GenerateString(80), Is.EqualTo(expected));
    }

    [Test]
    public void ALoadReadsFromTheStreamsPositionToItsEnd()
    {
        byte[] prefixed = new byte[] { 1, 2, 3 }.Concat(LargeFile.Value).ToArray();
        var stream = new MemoryStream(prefixed) { Position = 3 };

        Assert.That(TextModelLoadTests.Contents(TextModel.Load(stream, "large").Weights), Is.EqualTo(TextModelLoadTests.Contents(TextModel.Load(LargeFile.Value, "large").Weights)));
    }

    private static IEnumerable<TestCaseData> FilesChangedWhileRead()
    {
        byte[] file = LargeFile.Value;
        var layout = MessagePackLayout.Of(file);
        int PayloadOf(int tensor) => layout.Values.Single(v => !v.IsKey && v.Path == $"tensors[{tensor}].data").PayloadStart;
        int late = PayloadOf(6) + 4 * 100_000; // well inside rnn.weight_hh_l1 (1 MiB), read long after the first tensors
        int headerDigest = layout.Find(ModelFileSchema.HeaderSha256Key, MessagePackType.Binary)!.PayloadStart;

        yield return new TestCaseData(late, (Action<TrickleStream>)(s => s.EndAt(late)), "the file shrank below the").SetArgDisplayNames("truncated");
        yield return new TestCaseData(late, (Action<TrickleStream>)(s => s.Append(new byte[] { 0xC0 })), "the file grew beyond the").SetArgDisplayNames("appended to");
        yield return new TestCaseData(late, (Action<TrickleStream>)(s => s.Flip(late + (256 << 10))), "tensor_sha256: checksum mismatch").SetArgDisplayNames("a weight not read yet changed");
        yield return new TestCaseData(late, (Action<TrickleStream>)(s => s.Flip(PayloadOf(1) + 4)), "").SetArgDisplayNames("a weight already read changed");
        yield return new TestCaseData(late, (Action<TrickleStream>)(s => s.Flip(headerDigest)), "header_sha256: checksum mismatch").SetArgDisplayNames("the header digest changed before it was read");
        yield return new TestCaseData(late, (Action<TrickleStream>)(s => s.Fail(new IOException("the device went away"))), "cannot read the stream: the device went away").SetArgDisplayNames("a failing device");
    }

    [TestCaseSource(nameof(FilesChangedWhileRead))]
    public void AFileChangedWhileItIsReadLoadsConsistentlyOrIsRefused(int when, Action<TrickleStream> change, string fragment)
    {
        var stream = new TrickleStream((byte[])LargeFile.Value.Clone(), maxRead: 64 << 10);
        stream.At(when, () => change(stream));

        if (fragment.Length == 0)
        {
            // Bytes already read are read only once: the load is of the file as it was, and its weights are the bytes
            // verified (the fingerprint alone would not show it: it hashes the file's recorded digest, not the weights).
            Assert.That(TextModelLoadTests.Contents(TextModel.Load(stream, "large").Weights), Is.EqualTo(TextModelLoadTests.Contents(TextModel.Load(LargeFile.Value, "large").Weights)));
            return;
        }
        var e = Assert.Throws<ModelFormatException>(() => TextModel.Load(stream, "large"))!;
        Assert.That(e.Message, Does.StartWith("large: ").And.Contain(fragment));
    }

    /// <summary>
    /// A seekable stream over a byte array that serves at most <c>maxRead</c> bytes per read and can change the
    /// "file" once a given number of bytes has been served, as another process writing it would.
    /// </summary>
    public sealed class TrickleStream(byte[] bytes, int maxRead) : Stream
    {
        private byte[] _bytes = bytes;
        private int _end = bytes.Length;
        private Exception? _failure;
        private (long At, Action Change)? _pending;

        public long BytesServed { get; private set; }

        public void At(long served, Action change) => _pending = (served, change);

        public void EndAt(int end) => _end = end;

        public void Append(byte[] extra)
        {
            _bytes = _bytes.Concat(extra).ToArray();
            _end = _bytes.Length;
        }

        public void Flip(int offset) => _bytes[offset] ^= 0x10;

        public void Fail(Exception failure) => _failure = failure;

        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => _end;
        public override long Position { get; set; }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_pending is var (at, change) && BytesServed >= at)
            {
                _pending = null;
                change();
            }
            if (_failure is not null) throw _failure;
            int count = (int)Math.Max(0, Math.Min(Math.Min(buffer.Length, maxRead), _end - Position));
            _bytes.AsSpan((int)Position, count).CopyTo(buffer);
            Position += count;
            BytesServed += count;
            return count;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>A stream that cannot tell its length, so the load reads it whole before parsing.</summary>
    private sealed class ForwardOnlyCopy(byte[] bytes) : ForwardOnlyStream
    {
        private int _position;

        public override int Read(byte[] buffer, int offset, int count)
        {
            int read = Math.Min(count, bytes.Length - _position);
            bytes.AsSpan(_position, read).CopyTo(buffer.AsSpan(offset));
            _position += read;
            return read;
        }
    }
}
