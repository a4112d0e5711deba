namespace TextGen.Runtime.Format;

/// <summary>
/// A weight file read from a seekable stream only as far as its reader has got, into a buffer of the file's length.
/// The reader fills the buffer up to what it parses next, and reads each f32 tensor's payload from the stream straight
/// into the array the weights keep, so those bytes (nearly the whole file) are copied once, from the OS cache to the
/// weights, and the buffer's pages under them are never touched. Every byte comes from the stream exactly once, into
/// memory nobody else writes, so what is parsed, checked and hashed is what is kept even if the file changes meanwhile.
/// Little-endian hosts only: there the f32 payload already is the floats.
/// </summary>
internal sealed class StreamedFileBytes
{
    /// <summary>
    /// Smallest read from the stream (4 KiB): a tensor's header then costs one read call, not one per value, and the
    /// read-ahead into the payload that follows (copied from the buffer into the weights) stays one page.
    /// </summary>
    internal const int ReadAheadBytes = 4 << 10;

    private readonly Stream _stream;
    private readonly string _source;
    private readonly byte[] _buffer; // (file length) every byte below _filled, except the payloads read elsewhere
    private int _filled;             // bytes taken from the stream so far: the stream is positioned there

    private StreamedFileBytes(Stream stream, string source, byte[] buffer)
    {
        _stream = stream;
        _source = source;
        _buffer = buffer;
    }

    /// <summary>
    /// Starts reading <paramref name="stream"/> from its position to its end, refusing more than
    /// <paramref name="maxBytes"/>; null when the stream cannot tell its length or the host is big-endian.
    /// </summary>
    public static StreamedFileBytes? TryOpen(Stream stream, string source, int maxBytes)
    {
        if (stream is null) throw new ArgumentNullException(nameof(stream));
        try
        {
            if (!stream.CanRead) throw new ModelFormatException(source, "the stream is not readable");
            if (!stream.CanSeek || !BitConverter.IsLittleEndian) return null;
            long length = stream.Length - stream.Position;
            if (length > maxBytes) throw ModelFileStorage.TooLarge(source, length, maxBytes);
            // Only bytes read from the stream are ever exposed, so the buffer needs no zeroing.
            return new StreamedFileBytes(stream, source, UninitializedArray.Create<byte>((int)length));
        }
        catch (Exception e) when (ModelFileStorage.IsReadFailure(e))
        {
            throw ModelFileStorage.ReadFailure(source, e);
        }
    }

    /// <summary>The whole file; only the bytes below the last <see cref="Fill"/> are valid, and never a payload passed to <see cref="ReadPayload"/>.</summary>
    public ReadOnlyMemory<byte> Bytes => _buffer;

    /// <summary>Makes the first <paramref name="end"/> bytes of the file (at most all of it) valid in <see cref="Bytes"/>.</summary>
    public void Fill(long end)
    {
        if (end <= _filled) return;
        int target = (int)Math.Min(_buffer.Length, Math.Max(end, (long)_filled + ReadAheadBytes));
        ReadExactly(_buffer.AsSpan(_filled, target - _filled));
        _filled = target;
    }

    /// <summary>
    /// Reads the file's bytes from <paramref name="start"/> on into <paramref name="destination"/> instead of
    /// <see cref="Bytes"/>. Payloads are read in file order; a read-ahead may have buffered their first bytes already.
    /// </summary>
    public void ReadPayload(int start, Span<byte> destination)
    {
        Fill(start);
        int buffered = Math.Min(destination.Length, _filled - start);
        _buffer.AsSpan(start, buffered).CopyTo(destination);
        ReadExactly(destination.Slice(buffered));
        _filled = Math.Max(_filled, start + destination.Length);
    }

    /// <summary>
    /// Refuses a file that grew while it was read, as reading it whole would have: its end is where the document ends.
    /// Call once every byte has been read.
    /// </summary>
    public void CheckEnd()
    {
        Span<byte> extra = stackalloc byte[1];
        if (Read(extra) > 0) throw new ModelFormatException(_source, $"the file grew beyond the {_buffer.Length} bytes it had when opened while it was read; it is being written, so load it again once it is complete");
    }

    private void ReadExactly(Span<byte> destination)
    {
        while (!destination.IsEmpty)
        {
            int read = Read(destination);
            if (read == 0) throw new ModelFormatException(_source, $"the file shrank below the {_buffer.Length} bytes it had when opened while it was read; it is being written, so load it again once it is complete");
            destination = destination.Slice(read);
        }
    }

    private int Read(Span<byte> destination)
    {
        try
        {
            return _stream.Read(destination);
        }
        catch (Exception e) when (ModelFileStorage.IsReadFailure(e))
        {
            throw ModelFileStorage.ReadFailure(_source, e);
        }
    }
}
