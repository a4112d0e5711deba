using System.Buffers;
using System.Buffers.Binary;
using MessagePack;

namespace TextGen.Tests.Format;

/// <summary>
/// Damages valid weight files the ways a hostile or broken asset would: bit flips, boundary bytes, truncation,
/// inflated length and count fields, splices of two files, insertions, removals and values nested far too deep.
/// The structural mutations aim at real headers found with <see cref="MessagePackLayout"/>, so they reach the
/// reader's checks for counts, lengths, key order and limits rather than dying on the first byte. Deterministic:
/// the same seed gives the same mutations.
/// </summary>
internal sealed class ModelFileMutator
{
    private delegate void ValueWriter(ref MessagePackWriter writer);

    // Type bytes that start long or odd values, and the extremes of every length field.
    private static readonly byte[] BoundaryBytes =
    {
        0x00, 0x01, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xC4, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB,
        0xCC, 0xCE, 0xCF, 0xD0, 0xD3, 0xD4, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF, 0xE0, 0xFF,
    };

    // The format's limits and their neighbours, Unicode edges, and the integer extremes.
    private static readonly long[] BoundaryIntegers =
    {
        0, 1, 2, -1, 15, 16, 17, 127, 128, 255, 256, 1024, 1025, 8192, 8193, 65535, 65536, 65537, 0xD7FF, 0xD800, 0xDFFF,
        0x10FFFF, 0x110000, 1 << 28, (1 << 28) + 1, 1 << 30, int.MaxValue, uint.MaxValue, long.MaxValue, long.MinValue, int.MinValue,
    };

    private static readonly uint[] BoundaryLengths = { 0, 1, 0x7F, 0xFF, 0xFFFF, 0x10000, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFE, 0xFFFF_FFFF };

    private static readonly float[] BoundaryFloats =
    {
        float.MaxValue, -float.MaxValue, 1e30f, -1e30f, 3e19f, float.Epsilon, -0f, float.NaN, float.PositiveInfinity, float.NegativeInfinity,
    };

    // Keys the format knows, so insertions also make duplicates, misordered and misplaced known keys.
    private static readonly string[] Keys =
    {
        "magic", "version", "architecture", "tensors", "metadata", "tensor_sha256", "header_sha256", "cell", "layers",
        "hidden", "embedding", "vocabulary", "name", "dtype", "shape", "data", "future", "", "x", new string('k', 257),
    };

    private readonly Random _random;
    private readonly IReadOnlyList<byte[]> _corpus;

    public ModelFileMutator(int seed, IReadOnlyList<byte[]> corpus)
    {
        _random = new Random(seed);
        _corpus = corpus;
    }

    /// <summary>One to three mutations of a random corpus file; <paramref name="description"/> names them, for failure messages.</summary>
    public byte[] Next(out string description)
    {
        int source = _random.Next(_corpus.Count);
        byte[] bytes = _corpus[source];
        var steps = new List<string> { $"file {source}" };
        int count = _random.Next(4) switch { 0 or 1 => 1, 2 => 2, _ => 3 };
        for (int i = 0; i < count; i++)
        {
            var layout = MessagePackLayout.Of(bytes);
            (bytes, string step) = Mutate(bytes, layout);
            steps.Add(step);
        }
        description = string.Join(", ", steps);
        return bytes;
    }

    private (byte[] Bytes, string Step) Mutate(byte[] bytes, MessagePackLayout layout)
    {
        var complete = layout.Values.Where(v => v.End >= 0).ToList();
        switch (_random.Next(13))
        {
            case 0: return FlipBits(bytes);
            case 1: return OverwriteWithBoundaryBytes(bytes, complete);
            case 2: return Truncate(bytes, complete);
            case 3 or 4: return InflateLength(bytes, complete);
            case 5: return ReplaceInteger(bytes, complete);
            case 6: return OverwriteWeight(bytes, complete);
            case 7: return Splice(bytes, complete);
            case 8: return InsertBytes(bytes);
            case 9 or 10: return InsertEntry(bytes, complete);
            case 11: return RemoveEntry(bytes, complete);
            default: return ReplaceString(bytes, complete);
        }
    }

    private (byte[], string) FlipBits(byte[] bytes)
    {
        byte[] damaged = (byte[])bytes.Clone();
        int flips = _random.Next(1, 5);
        for (int i = 0; i < flips && damaged.Length > 0; i++) damaged[_random.Next(damaged.Length)] ^= (byte)(1 << _random.Next(8));
        return (damaged, $"{flips} bit flips");
    }

    private (byte[], string) OverwriteWithBoundaryBytes(byte[] bytes, List<MessagePackLayout.Value> values)
    {
        byte[] damaged = (byte[])bytes.Clone();
        if (damaged.Length == 0) return (damaged, "nothing to overwrite");
        // Half the time on a header, where a boundary byte changes the type or the length of a value.
        int offset = values.Count > 0 && _random.Next(2) == 0 ? Pick(values).Offset : _random.Next(damaged.Length);
        int count = _random.Next(1, 9);
        for (int i = offset; i < Math.Min(offset + count, damaged.Length); i++) damaged[i] = BoundaryBytes[_random.Next(BoundaryBytes.Length)];
        return (damaged, $"{count} boundary bytes at {offset}");
    }

    private (byte[], string) Truncate(byte[] bytes, List<MessagePackLayout.Value> values)
    {
        int length = values.Count > 0 && _random.Next(2) == 0
            ? Math.Min(bytes.Length, Pick(values).Offset + _random.Next(3))
            : _random.Next(bytes.Length + 1);
        return (bytes.AsSpan(0, length).ToArray(), $"truncated to {length}");
    }

    /// <summary>Rewrites a map, array, str or bin header as its widest form with an extreme count or length.</summary>
    private (byte[], string) InflateLength(byte[] bytes, List<MessagePackLayout.Value> values)
    {
        var headers = values.Where(v => v.HasLength).ToList();
        if (headers.Count == 0) return FlipBits(bytes);
        var target = Pick(headers);
        uint length = _random.Next(3) switch
        {
            0 => BoundaryLengths[_random.Next(BoundaryLengths.Length)],
            1 => (uint)Math.Min(uint.MaxValue, target.Count + 1),
            _ => (uint)Math.Max(0, target.Count - 1),
        };
        bool wide = _random.Next(4) > 0 || length > 0xFFFF;
        byte code = target.Type switch
        {
            MessagePackType.Map => wide ? MessagePackCode.Map32 : MessagePackCode.Map16,
            MessagePackType.Array => wide ? MessagePackCode.Array32 : MessagePackCode.Array16,
            MessagePackType.String => wide ? MessagePackCode.Str32 : MessagePackCode.Str16,
            _ => wide ? MessagePackCode.Bin32 : MessagePackCode.Bin16,
        };
        var header = new byte[wide ? 5 : 3];
        header[0] = code;
        if (wide) BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(1), length);
        else BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(1), (ushort)length);
        return (Replace(bytes, target.Offset, target.HeaderLength, header), $"{target.Path} {target.Type} length {length}");
    }

    private (byte[], string) ReplaceInteger(byte[] bytes, List<MessagePackLayout.Value> values)
    {
        var integers = values.Where(v => v.Type == MessagePackType.Integer).ToList();
        if (integers.Count == 0) return FlipBits(bytes);
        var target = Pick(integers);
        long value = BoundaryIntegers[_random.Next(BoundaryIntegers.Length)];
        byte[] encoded = value == uint.MaxValue && _random.Next(2) == 0
            ? new byte[] { MessagePackCode.UInt64, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF }
            : Encode((ref MessagePackWriter w) => w.Write(value));
        return (Replace(bytes, target.Offset, target.End - target.Offset, encoded), $"{target.Path} = {value}");
    }

    /// <summary>Writes an extreme float over a weight: huge finite weights overflow the forward pass when re-sealed.</summary>
    private (byte[], string) OverwriteWeight(byte[] bytes, List<MessagePackLayout.Value> values)
    {
        var data = values.Where(v => v.Type == MessagePackType.Binary && v.Count >= 4 && v.Path.EndsWith(".data", StringComparison.Ordinal)).ToList();
        if (data.Count == 0) return FlipBits(bytes);
        var target = Pick(data);
        byte[] damaged = (byte[])bytes.Clone();
        // Filling a whole tensor with one value makes sums overflow for sure (a row of float.MaxValue), not just by luck.
        bool fill = _random.Next(3) == 0;
        float extreme = BoundaryFloats[_random.Next(BoundaryFloats.Length)];
        int elements = fill ? (int)(target.Count / 4) : _random.Next(1, 4);
        for (int i = 0; i < elements; i++)
        {
            int at = target.PayloadStart + 4 * (fill ? i : _random.Next((int)(target.Count / 4)));
            if (!fill) extreme = BoundaryFloats[_random.Next(BoundaryFloats.Length)];
            BinaryPrimitives.WriteInt32LittleEndian(damaged.AsSpan(at), BitConverter.SingleToInt32Bits(extreme));
        }
        return (damaged, fill ? $"{target.Path} filled with {extreme}" : $"{elements} extreme weights in {target.Path}");
    }

    private (byte[], string) Splice(byte[] bytes, List<MessagePackLayout.Value> values)
    {
        byte[] other = _corpus[_random.Next(_corpus.Count)];
        var otherValues = MessagePackLayout.Of(other).Values.Where(v => v.End >= 0).ToList();
        // At value boundaries the result stays parseable for a while; at random offsets it is a byte soup.
        bool aligned = values.Count > 0 && otherValues.Count > 0 && _random.Next(3) > 0;
        int cut = aligned ? Pick(values).Offset : _random.Next(bytes.Length + 1);
        int from = aligned ? Pick(otherValues).Offset : _random.Next(other.Length + 1);
        byte[] spliced = bytes.AsSpan(0, cut).ToArray().Concat(other.AsSpan(from).ToArray()).ToArray();
        return (spliced, $"splice {cut} + other from {from}");
    }

    private (byte[], string) InsertBytes(byte[] bytes)
    {
        var inserted = new byte[_random.Next(1, 17)];
        for (int i = 0; i < inserted.Length; i++) inserted[i] = _random.Next(2) == 0 ? BoundaryBytes[_random.Next(BoundaryBytes.Length)] : (byte)_random.Next(256);
        int offset = _random.Next(bytes.Length + 1);
        return (Replace(bytes, offset, 0, inserted), $"{inserted.Length} bytes inserted at {offset}");
    }

    /// <summary>Adds a key and value to a map, or an element to an array, and raises its count to match.</summary>
    private (byte[], string) InsertEntry(byte[] bytes, List<MessagePackLayout.Value> values)
    {
        var containers = values.Where(v => v.Type is MessagePackType.Map or MessagePackType.Array && v.Count < ushort.MaxValue).ToList();
        if (containers.Count == 0) return InsertBytes(bytes);
        var container = Pick(containers);
        int index = container.Index;
        var children = values.Where(v => v.Parent == index && !v.IsKey).ToList();
        var keys = values.Where(v => v.Parent == index && v.IsKey).ToList();
        int slot = _random.Next(children.Count + 1);
        int at = slot == children.Count ? container.End
            : container.Type == MessagePackType.Map ? keys[slot].Offset
            : children[slot].Offset;
        var (value, what) = RandomValue();
        byte[] entry = container.Type == MessagePackType.Map
            ? Encode((ref MessagePackWriter w) => w.Write(Keys[_random.Next(Keys.Length)])).Concat(value).ToArray()
            : value;
        byte[] header = container.Type == MessagePackType.Map
            ? Encode((ref MessagePackWriter w) => w.WriteMapHeader((int)container.Count + 1))
            : Encode((ref MessagePackWriter w) => w.WriteArrayHeader((int)container.Count + 1));
        byte[] inserted = Replace(bytes, at, 0, entry);
        return (Replace(inserted, container.Offset, container.HeaderLength, header), $"{what} inserted into {Describe(container)}");
    }

    private (byte[], string) RemoveEntry(byte[] bytes, List<MessagePackLayout.Value> values)
    {
        var containers = values.Where(v => v.Type is MessagePackType.Map or MessagePackType.Array && v.Count > 0 && v.Count <= int.MaxValue).ToList();
        if (containers.Count == 0) return Truncate(bytes, values);
        var container = Pick(containers);
        int index = container.Index;
        var children = values.Where(v => v.Parent == index && !v.IsKey).ToList();
        if (children.Count == 0) return Truncate(bytes, values);
        int slot = _random.Next(children.Count);
        int start = container.Type == MessagePackType.Map ? values.Where(v => v.Parent == index && v.IsKey).ElementAt(slot).Offset : children[slot].Offset;
        byte[] header = container.Type == MessagePackType.Map
            ? Encode((ref MessagePackWriter w) => w.WriteMapHeader((int)container.Count - 1))
            : Encode((ref MessagePackWriter w) => w.WriteArrayHeader((int)container.Count - 1));
        byte[] removed = Replace(bytes, start, children[slot].End - start, Array.Empty<byte>());
        return (Replace(removed, container.Offset, container.HeaderLength, header), $"entry {slot} removed from {Describe(container)}");
    }

    private (byte[], string) ReplaceString(byte[] bytes, List<MessagePackLayout.Value> values)
    {
        var strings = values.Where(v => v.Type == MessagePackType.String).ToList();
        if (strings.Count == 0) return FlipBits(bytes);
        var target = Pick(strings);
        byte[] replacement = _random.Next(4) switch
        {
            0 => Encode((ref MessagePackWriter w) => w.Write(Keys[_random.Next(Keys.Length)])),
            1 => new byte[] { 0xA3, 0xC3, 0x28, 0x41 },                  // ill-formed UTF-8
            2 => new byte[] { 0xA3, 0xED, 0xA0, 0x80 },                  // an encoded surrogate
            _ => Encode((ref MessagePackWriter w) => w.Write(new string('s', _random.Next(2) == 0 ? 65537 : 300))),
        };
        return (Replace(bytes, target.Offset, target.End - target.Offset, replacement), $"{target.Path} string replaced");
    }

    /// <summary>A value for an unknown key or an extra element, including nesting far beyond the format's limit of 8.</summary>
    private (byte[] Bytes, string What) RandomValue()
    {
        switch (_random.Next(8))
        {
            case 0:
            {
                int depth = _random.Next(2) == 0 ? 10_000 : _random.Next(1, 12);
                return (Enumerable.Repeat((byte)0x91, depth).Append((byte)0xC0).ToArray(), $"arrays nested {depth} deep");
            }
            case 1:
            {
                int depth = _random.Next(2) == 0 ? 10_000 : _random.Next(1, 12);
                return (Enumerable.Range(0, depth).SelectMany(_ => new byte[] { 0x81, 0xA1, 0x6B }).Append((byte)0x2A).ToArray(), $"maps nested {depth} deep");
            }
            case 2:
            {
                long value = BoundaryIntegers[_random.Next(BoundaryIntegers.Length)];
                return (Encode((ref MessagePackWriter w) => w.Write(value)), $"integer {value}");
            }
            case 3: return (Encode((ref MessagePackWriter w) => w.Write(_random.Next(2) == 0 ? double.NaN : 1.5)), "float");
            case 4: return (Encode((ref MessagePackWriter w) => w.Write(new string('v', _random.Next(0, 40)))), "string");
            case 5: return (Encode((ref MessagePackWriter w) => w.Write(new byte[_random.Next(0, 40)])), "bin");
            case 6: return (new byte[] { 0xD4, 0x01, 0x02 }, "fixext1");
            default: return (new byte[] { 0xC0 }, "nil");
        }
    }

    private MessagePackLayout.Value Pick(List<MessagePackLayout.Value> values) => values[_random.Next(values.Count)];

    private static string Describe(MessagePackLayout.Value container) => container.Path.Length == 0 ? "the document" : container.Path;

    private static byte[] Replace(byte[] bytes, int offset, int length, byte[] replacement)
    {
        var result = new byte[bytes.Length - length + replacement.Length];
        bytes.AsSpan(0, offset).CopyTo(result);
        replacement.CopyTo(result, offset);
        bytes.AsSpan(offset + length).CopyTo(result.AsSpan(offset + replacement.Length));
        return result;
    }

    private static byte[] Encode(ValueWriter write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        write(ref writer);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }
}
