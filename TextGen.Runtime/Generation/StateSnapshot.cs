using System.Buffers.Binary;

namespace TextGen.Runtime.Generation;

/// <summary>
/// Little-endian fields of a saved generator state, written and read in order, closed by a checksum. The layout
/// is listed in <see cref="TextGenerator.SaveState(Span{byte})"/>.
/// </summary>
internal ref struct StateSnapshotWriter
{
    private readonly Span<byte> _destination;

    public StateSnapshotWriter(Span<byte> destination)
    {
        _destination = destination;
        Position = 0;
    }

    public int Position { get; private set; }

    public void WriteBytes(ReadOnlySpan<byte> value)
    {
        value.CopyTo(_destination.Slice(Position));
        Position += value.Length;
    }

    public void WriteByte(byte value) => _destination[Position++] = value;

    public void WriteUInt16(ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(Advance(2), value);

    public void WriteInt32(int value) => BinaryPrimitives.WriteInt32LittleEndian(Advance(4), value);

    public void WriteUInt64(ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(Advance(8), value);

    public void WriteFloats(ReadOnlySpan<float> values)
    {
        foreach (float v in values) WriteInt32(BitConverter.SingleToInt32Bits(v));
    }

    public void WriteUnits(ReadOnlySpan<char> units)
    {
        WriteUInt16((ushort)units.Length);
        foreach (char c in units) WriteUInt16(c);
    }

    /// <summary>Appends the checksum of everything written; returns the total length.</summary>
    public int Close()
    {
        ulong checksum = StateSnapshotReader.Checksum(_destination.Slice(0, Position));
        WriteUInt64(checksum);
        return Position;
    }

    private Span<byte> Advance(int count)
    {
        Span<byte> field = _destination.Slice(Position, count);
        Position += count;
        return field;
    }
}

/// <summary>Reads what <see cref="StateSnapshotWriter"/> wrote; any shortfall is a <see cref="GeneratorStateException"/>.</summary>
internal ref struct StateSnapshotReader
{
    public const int ChecksumSize = 8;

    private readonly ReadOnlySpan<byte> _payload;
    private int _position;

    /// <summary>Checks the closing checksum, then reads the fields before it.</summary>
    public StateSnapshotReader(ReadOnlySpan<byte> state)
    {
        if (state.Length < ChecksumSize) throw new GeneratorStateException($"{state.Length} bytes are too few to be a generator state");
        _payload = state.Slice(0, state.Length - ChecksumSize);
        _position = 0;
        ChecksumMatches = BinaryPrimitives.ReadUInt64LittleEndian(state.Slice(_payload.Length)) == Checksum(_payload);
    }

    public bool ChecksumMatches { get; }

    public int Remaining => _payload.Length - _position;

    /// <summary>
    /// FNV-1a, 64-bit (Fowler, Noll, Vo): catches truncation and corruption of saved games; not a defence against
    /// tampering, which a local save cannot have anyway.
    /// </summary>
    public static ulong Checksum(ReadOnlySpan<byte> bytes)
    {
        ulong hash = 14695981039346656037UL;
        foreach (byte b in bytes) hash = unchecked((hash ^ b) * 1099511628211UL);
        return hash;
    }

    public ReadOnlySpan<byte> ReadBytes(int count) => Take(count);

    public byte ReadByte() => Take(1)[0];

    public ushort ReadUInt16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));

    public int ReadInt32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));

    public ulong ReadUInt64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

    public void ReadFloats(Span<float> destination)
    {
        for (int i = 0; i < destination.Length; i++) destination[i] = BitConverter.Int32BitsToSingle(ReadInt32());
    }

    /// <summary>A length-prefixed run of UTF-16 units, at most <paramref name="capacity"/> long.</summary>
    public char[] ReadUnits(int capacity, string what)
    {
        int count = ReadUInt16();
        if (count > capacity) throw new GeneratorStateException($"{count} {what} exceed this generator's {capacity} (were the stop strings different?)");
        var units = new char[count];
        for (int i = 0; i < count; i++) units[i] = (char)ReadUInt16();
        return units;
    }

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count > Remaining) throw new GeneratorStateException($"the state ends {count - Remaining} bytes early (truncated?)");
        ReadOnlySpan<byte> field = _payload.Slice(_position, count);
        _position += count;
        return field;
    }
}
