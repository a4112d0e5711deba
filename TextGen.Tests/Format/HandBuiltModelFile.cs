using System.Buffers;
using System.Security.Cryptography;
using MessagePack;
using TextGen.Runtime.Format;

namespace TextGen.Tests.Format;

/// <summary>
/// A *.tgm document as an editable tree, written straight from docs/format.md and independent of the Runtime's
/// writer, so tests can build exactly the malformed file they need. Values are: <see cref="string"/> (str),
/// <see cref="long"/> (int, shortest encoding), <see cref="double"/> (float64), <see cref="byte"/>[] (bin),
/// <see cref="TensorData"/> (bin holding tensor data), <see cref="List{T}"/> of object (array),
/// <see cref="Entries"/> (map, ordered, duplicates allowed) and <see cref="Raw"/> (bytes written as they are).
/// </summary>
internal sealed class HandBuiltModelFile
{
    /// <summary>A bin value that holds tensor data: hashed into tensor_sha256 and left out of header_sha256.</summary>
    public sealed record TensorData(byte[] Bytes);

    /// <summary>Bytes copied into the file verbatim, for headers no well-formed writer would produce.</summary>
    public sealed record Raw(params byte[] Bytes);

    /// <summary>An ordered map that may hold duplicate or misordered keys.</summary>
    public sealed class Entries : List<KeyValuePair<string, object>>
    {
        public object this[string key]
        {
            get => this.First(e => e.Key == key).Value;
            set
            {
                int i = FindIndex(e => e.Key == key);
                if (i < 0) Add(new(key, value));
                else this[i] = new(key, value);
            }
        }

        public void Remove(string key) => RemoveAt(FindIndex(e => e.Key == key));

        public void Insert(int index, string key, object value) => Insert(index, new KeyValuePair<string, object>(key, value));

        public int IndexOf(string key) => FindIndex(e => e.Key == key);
    }

    public HandBuiltModelFile(Entries root) => Root = root;

    public Entries Root { get; }

    public Entries Architecture => (Entries)Root["architecture"];

    public List<object> Tensors => (List<object>)Root["tensors"];

    public Entries Tensor(int index) => (Entries)Tensors[index];

    public Entries Metadata => (Entries)Root["metadata"];

    /// <summary>The document docs/format.md prescribes for <paramref name="model"/>.</summary>
    public static HandBuiltModelFile From(ModelFile model)
    {
        var a = model.Architecture;
        var architecture = new Entries
        {
            ["cell"] = a.Cell.ToString().ToLowerInvariant(),
            ["layers"] = (long)a.Layers,
            ["hidden"] = (long)a.HiddenSize,
            ["embedding"] = (long)a.EmbeddingSize,
            ["vocabulary"] = a.Vocabulary.Select(v => (object)(long)v).ToList(),
        };
        var tensors = model.Tensors.Select(t => (object)new Entries
        {
            ["name"] = t.Name,
            ["dtype"] = (long)t.DType,
            ["shape"] = t.Shape.Select(d => (object)(long)d).ToList(),
            ["data"] = new TensorData(t.Data.ToArray()),
        }).ToList();
        var metadata = new Entries();
        foreach (var entry in model.Metadata.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            metadata[entry.Key] = entry.Value.IsString ? entry.Value.String : entry.Value.Number;
        }
        return new HandBuiltModelFile(new Entries
        {
            ["magic"] = "TextGen.Model",
            ["version"] = new List<object> { (long)ModelFile.FormatMajorVersion, (long)ModelFile.FormatMinorVersion },
            ["architecture"] = architecture,
            ["tensors"] = tensors,
            ["metadata"] = metadata,
            ["tensor_sha256"] = new byte[32],
            ["header_sha256"] = new byte[32],
        });
    }

    /// <summary>
    /// Writes the document. Unless told otherwise, tensor_sha256 and header_sha256 are computed as the spec defines
    /// them, so a test's defect is the only thing wrong with the file.
    /// </summary>
    public byte[] Compose(bool sealTensors = true, bool sealHeader = true)
    {
        if (sealTensors && Root.IndexOf("tensor_sha256") >= 0)
        {
            var tensors = Root.IndexOf("tensors") >= 0 ? Root["tensors"] as List<object> ?? new List<object>() : new List<object>();
            var data = tensors.OfType<Entries>().SelectMany(t => t).Select(e => e.Value).OfType<TensorData>().Select(d => d.Bytes).ToList();
            Root["tensor_sha256"] = DeclaredMajorVersion() == 1 ? Format1TensorSha256(data) : Format2TensorSha256(data);
        }

        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        var payloads = new List<(int Start, int Length)>();
        writer.WriteMapHeader(Root.Count);
        foreach (var (key, value) in Root)
        {
            if (sealHeader && key == "header_sha256")
            {
                writer.Flush();
                writer.Write(key);
                writer.Write(HeaderSha256(buffer.WrittenSpan.Slice(0, buffer.WrittenCount), payloads));
                continue;
            }
            writer.Write(key);
            WriteValue(ref writer, buffer, value, payloads);
        }
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    // The major version the document declares, when it declares one that can be read; format 2 otherwise.
    private long DeclaredMajorVersion()
        => Root.IndexOf("version") >= 0 && Root["version"] is List<object> { Count: > 0 } version && version[0] is long major ? major : 2;

    /// <summary>Format 1: SHA-256 of every tensor's data, concatenated in file order.</summary>
    public static byte[] Format1TensorSha256(IEnumerable<byte[]> tensors) => SHA256.HashData(tensors.SelectMany(t => t).ToArray());

    /// <summary>Format 2: SHA-256 of the SHA-256 digests of every tensor's 262,144-byte pieces (the last of each tensor shorter), in file order.</summary>
    public static byte[] Format2TensorSha256(IEnumerable<byte[]> tensors)
        => SHA256.HashData(tensors.SelectMany(t => t.Chunk(262_144)).SelectMany(SHA256.HashData).ToArray());

    private static byte[] HeaderSha256(ReadOnlySpan<byte> prefix, List<(int Start, int Length)> payloads)
    {
        var covered = new List<byte>();
        int next = 0;
        foreach (var (start, length) in payloads)
        {
            covered.AddRange(prefix.Slice(next, start - next).ToArray());
            next = start + length;
        }
        covered.AddRange(prefix.Slice(next).ToArray());
        return SHA256.HashData(covered.ToArray());
    }

    private static void WriteValue(ref MessagePackWriter writer, ArrayBufferWriter<byte> buffer, object value, List<(int Start, int Length)> payloads)
    {
        switch (value)
        {
            case string text:
                writer.Write(text);
                break;
            case long integer:
                writer.Write(integer);
                break;
            case double number:
                writer.Write(number);
                break;
            case byte[] bytes:
                writer.Write(bytes);
                break;
            case TensorData data:
                writer.WriteBinHeader(data.Bytes.Length);
                writer.Flush();
                payloads.Add((buffer.WrittenCount, data.Bytes.Length));
                writer.WriteRaw(data.Bytes);
                break;
            case Raw raw:
                writer.WriteRaw(raw.Bytes);
                break;
            case Entries map:
                writer.WriteMapHeader(map.Count);
                foreach (var (key, item) in map)
                {
                    writer.Write(key);
                    WriteValue(ref writer, buffer, item, payloads);
                }
                break;
            case List<object> array:
                writer.WriteArrayHeader(array.Count);
                foreach (var item in array) WriteValue(ref writer, buffer, item, payloads);
                break;
            default:
                throw new ArgumentException($"no MessagePack form for {value.GetType()}");
        }
    }
}
