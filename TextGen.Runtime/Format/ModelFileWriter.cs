using System.Buffers;
using MessagePack;
using static TextGen.Runtime.Format.ModelFileSchema;

namespace TextGen.Runtime.Format;

/// <summary>
/// Serializes validated <see cref="ModelFile"/> contents with <see cref="MessagePackWriter"/>. The output is
/// deterministic: keys in the fixed order of docs/format.md, metadata in ordinal key order, integers in their
/// shortest encoding and metadata numbers always as float64, so the same contents always give the same bytes.
/// </summary>
internal static class ModelFileWriter
{
    private const int HeaderAllowance = 64 * 1024;

    public static byte[] Write(ModelFile file)
    {
        long dataBytes = file.Tensors.Sum(t => (long)t.Data.Length);
        var buffer = new ArrayBufferWriter<byte>((int)Math.Min(dataBytes + HeaderAllowance, ModelFile.MaxFileBytes));
        var writer = new MessagePackWriter(buffer);
        var payloads = new List<(int Start, int Length)>(file.Tensors.Count);

        writer.WriteMapHeader(TopLevelKeys.Length);
        writer.Write(MagicKey);
        writer.Write(ModelFile.Magic);

        writer.Write(VersionKey);
        writer.WriteArrayHeader(2);
        writer.Write(ModelFile.FormatMajorVersion);
        writer.Write(ModelFile.FormatMinorVersion);

        writer.Write(ArchitectureKey);
        WriteArchitecture(ref writer, file.Architecture);

        writer.Write(TensorsKey);
        writer.WriteArrayHeader(file.Tensors.Count);
        foreach (var tensor in file.Tensors) WriteTensor(ref writer, buffer, tensor, payloads);

        writer.Write(MetadataKey);
        writer.WriteMapHeader(file.Metadata.Count);
        foreach (var entry in file.Metadata)
        {
            writer.Write(entry.Key);
            if (entry.Value.IsString) writer.Write(entry.Value.String);
            else writer.Write(entry.Value.Number);
        }

        writer.Write(TensorSha256Key);
        // A file read from an older major version carries that version's digest; the current one is computed anew.
        if (file.FormatVersion.Major == ModelFile.FormatMajorVersion) writer.Write(file.TensorSha256Bytes);
        else writer.Write(ModelFileChecksums.TensorData(file.Tensors));

        writer.Flush();
        byte[] headerSha256 = ModelFileChecksums.Header(buffer.WrittenSpan, payloads);
        writer.Write(HeaderSha256Key);
        writer.Write(headerSha256);
        writer.Flush();

        if (buffer.WrittenCount > ModelFile.MaxFileBytes)
        {
            throw new InvalidOperationException($"the model would be {buffer.WrittenCount} bytes; readers accept at most {ModelFile.MaxFileBytes}");
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteArchitecture(ref MessagePackWriter writer, ModelArchitecture architecture)
    {
        writer.WriteMapHeader(ArchitectureKeys.Length);
        writer.Write(CellKey);
        writer.Write(CellName(architecture.Cell));
        writer.Write(LayersKey);
        writer.Write(architecture.Layers);
        writer.Write(HiddenKey);
        writer.Write(architecture.HiddenSize);
        writer.Write(EmbeddingKey);
        writer.Write(architecture.EmbeddingSize);
        writer.Write(VocabularyKey);
        writer.WriteArrayHeader(architecture.VocabularySize);
        foreach (int scalar in architecture.Vocabulary) writer.Write(scalar);
    }

    private static void WriteTensor(ref MessagePackWriter writer, ArrayBufferWriter<byte> buffer, ModelTensor tensor, List<(int Start, int Length)> payloads)
    {
        writer.WriteMapHeader(TensorKeys.Length);
        writer.Write(NameKey);
        writer.Write(tensor.Name);
        writer.Write(DTypeKey);
        writer.Write((int)tensor.DType);
        writer.Write(ShapeKey);
        writer.WriteArrayHeader(tensor.Shape.Count);
        foreach (int dim in tensor.Shape) writer.Write(dim);
        writer.Write(DataKey);
        writer.WriteBinHeader(tensor.Data.Length);

        // Flushing commits the writer's pending bytes, so the buffer's count is the payload's offset in the file.
        writer.Flush();
        payloads.Add((buffer.WrittenCount, tensor.Data.Length));
        writer.WriteRaw(tensor.Data.Span);
    }
}
