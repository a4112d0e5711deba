namespace TextGen.Tests.Support;

/// <summary>
/// A read-only stream that cannot seek or tell its length, like a network or decompression stream: the part of the
/// <see cref="Stream"/> contract such test streams share; each supplies only <see cref="Read"/>.
/// </summary>
internal abstract class ForwardOnlyStream : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
