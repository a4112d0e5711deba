using System.Buffers.Binary;
using MessagePack;

namespace TextGen.Tests.Format;

/// <summary>
/// Where every value of a MessagePack document lies: its header, its payload or children, and its key path
/// (<c>tensors[2].data</c>). Built leniently, unlike the Runtime's reader: a damaged document yields the values
/// before the damage (those the walk could not finish have <see cref="Value.End"/> −1), so mutations can aim at real
/// headers of any file and the checksums can be re-sealed wherever they can still be found.
/// </summary>
internal sealed class MessagePackLayout
{
    /// <summary>Deeper values are not walked; the Runtime refuses anything past depth 8 anyway.</summary>
    private const int MaxWalkDepth = 32;

    /// <summary>One value (or map key).</summary>
    /// <param name="Path">Key path as the Runtime's messages spell it; map keys carry their entry's path.</param>
    /// <param name="IsKey">True for a map key rather than a value.</param>
    /// <param name="Offset">Offset of the type byte.</param>
    /// <param name="HeaderLength">Type byte plus length or count field.</param>
    /// <param name="Type">MessagePack type.</param>
    /// <param name="Count">Entries of a map, elements of an array, payload bytes of a str or bin; 0 otherwise.</param>
    /// <param name="End">Offset just after the value with all its children; -1 when the walk stopped inside it.</param>
    /// <param name="Index">Index of this value in <see cref="Values"/>.</param>
    /// <param name="Parent">Index of the enclosing map or array in <see cref="Values"/>; -1 for the document.</param>
    public sealed record Value(string Path, bool IsKey, int Offset, int HeaderLength, MessagePackType Type, long Count, int End, int Index, int Parent)
    {
        /// <summary>First byte after the header: a str or bin payload, or the first child.</summary>
        public int PayloadStart => Offset + HeaderLength;

        /// <summary>Whether the header carries a count or length that can be inflated.</summary>
        public bool HasLength => Type is MessagePackType.Map or MessagePackType.Array or MessagePackType.String or MessagePackType.Binary;
    }

    private readonly ReadOnlyMemory<byte> _bytes;
    private readonly List<Value> _values = new();

    private MessagePackLayout(ReadOnlyMemory<byte> bytes) => _bytes = bytes;

    /// <summary>Values in document order (a container comes before its children).</summary>
    public IReadOnlyList<Value> Values => _values;

    public static MessagePackLayout Of(ReadOnlyMemory<byte> bytes)
    {
        var layout = new MessagePackLayout(bytes);
        var reader = new MessagePackReader(bytes);
        try
        {
            layout.Walk(ref reader, "", isKey: false, parent: -1, depth: 0);
        }
        catch (Exception e) when (e is EndOfStreamException or MessagePackSerializationException or OverflowException or ArgumentException or InvalidOperationException)
        {
            // The values read so far stay; the unfinished ones keep End = -1.
        }
        return layout;
    }

    /// <summary>The first value (not key) at <paramref name="path"/>, or null.</summary>
    public Value? Find(string path, MessagePackType type) => _values.FirstOrDefault(v => !v.IsKey && v.Path == path && v.Type == type && v.End >= 0);

    /// <summary>The first complete map key whose entry path is <paramref name="path"/>, or null.</summary>
    public Value? FindKey(string path) => _values.FirstOrDefault(v => v.IsKey && v.Path == path && v.End >= 0);

    private void Walk(ref MessagePackReader reader, string path, bool isKey, int parent, int depth)
    {
        if (depth > MaxWalkDepth) throw new InvalidOperationException("too deep to walk");
        int offset = (int)reader.Consumed;
        var type = reader.NextMessagePackType;
        int index = _values.Count;
        switch (type)
        {
            case MessagePackType.Map:
            {
                int count = reader.ReadMapHeader();
                _values.Add(new Value(path, isKey, offset, (int)reader.Consumed - offset, type, count, -1, index, parent));
                for (int i = 0; i < count; i++)
                {
                    string key = reader.NextMessagePackType == MessagePackType.String ? KeyText(reader) : "?";
                    string child = path.Length == 0 ? key : path + "." + key;
                    Walk(ref reader, child, isKey: true, index, depth + 1);
                    Walk(ref reader, child, isKey: false, index, depth + 1);
                }
                break;
            }
            case MessagePackType.Array:
            {
                int count = reader.ReadArrayHeader();
                _values.Add(new Value(path, isKey, offset, (int)reader.Consumed - offset, type, count, -1, index, parent));
                for (int i = 0; i < count; i++) Walk(ref reader, $"{path}[{i}]", isKey: false, index, depth + 1);
                break;
            }
            case MessagePackType.String:
            case MessagePackType.Binary:
            {
                var (headerLength, length) = LengthHeader(offset);
                if (offset + headerLength + length > _bytes.Length) throw new EndOfStreamException();
                _values.Add(new Value(path, isKey, offset, headerLength, type, length, -1, index, parent));
                reader.ReadRaw(headerLength + length);
                break;
            }
            default:
                reader.Skip();
                _values.Add(new Value(path, isKey, offset, (int)reader.Consumed - offset, type, 0, -1, index, parent));
                break;
        }
        _values[index] = _values[index] with { End = (int)reader.Consumed };
    }

    /// <summary>A str or bin header's size and unsigned length, read by hand as the Runtime does.</summary>
    private (int HeaderLength, long Length) LengthHeader(int offset)
    {
        ReadOnlySpan<byte> b = _bytes.Span.Slice(offset);
        byte code = b[0];
        if (code >= MessagePackCode.MinFixStr && code <= MessagePackCode.MaxFixStr) return (1, code & 0x1F);
        int prefix = code switch
        {
            MessagePackCode.Str8 or MessagePackCode.Bin8 => 1,
            MessagePackCode.Str16 or MessagePackCode.Bin16 => 2,
            _ => 4,
        };
        if (b.Length < 1 + prefix) throw new EndOfStreamException();
        long length = prefix switch
        {
            1 => b[1],
            2 => BinaryPrimitives.ReadUInt16BigEndian(b.Slice(1)),
            _ => BinaryPrimitives.ReadUInt32BigEndian(b.Slice(1)),
        };
        return (1 + prefix, length);
    }

    private static string KeyText(MessagePackReader reader)
    {
        try
        {
            return reader.ReadString() ?? "?";
        }
        catch (Exception e) when (e is EndOfStreamException or MessagePackSerializationException or ArgumentException)
        {
            return "?";
        }
    }
}
