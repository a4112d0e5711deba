namespace TextGen.Runtime.Format;

/// <summary>
/// The contents of a <c>*.tgm</c> weight file: architecture, tensors and metadata. Reading validates every
/// length, shape and value; see docs/format.md for the byte layout and limits.
/// </summary>
public sealed class ModelFile
{
    /// <summary>Creates file contents; validated against <paramref name="architecture"/>.</summary>
    public ModelFile(ModelArchitecture architecture, IReadOnlyList<ModelTensor> tensors, IReadOnlyDictionary<string, MetadataValue> metadata)
    {
        Architecture = architecture ?? throw new ArgumentNullException(nameof(architecture));
        Tensors = tensors?.ToArray() ?? throw new ArgumentNullException(nameof(tensors));
        Metadata = new Dictionary<string, MetadataValue>(metadata ?? throw new ArgumentNullException(nameof(metadata)), StringComparer.Ordinal);
    }

    /// <summary>The model's shape and vocabulary.</summary>
    public ModelArchitecture Architecture { get; }

    /// <summary>Tensors in file order.</summary>
    public IReadOnlyList<ModelTensor> Tensors { get; }

    /// <summary>Free-form provenance: corpus name and sha256, steps, validation loss, hyper-parameters, trainer version.</summary>
    public IReadOnlyDictionary<string, MetadataValue> Metadata { get; }

    /// <summary>Reads and validates a weight file held in memory (e.g. an asset from a game's pack).</summary>
    /// <param name="bytes">The whole file.</param>
    /// <param name="sourceName">Path or asset name used in error messages.</param>
    /// <exception cref="ModelFormatException">Anything is wrong with the file.</exception>
    public static ModelFile Read(ReadOnlyMemory<byte> bytes, string sourceName) => throw new NotImplementedException("format work in progress");

    /// <summary>Reads and validates a weight file from a stream (read to its end, bounded by the documented size limit).</summary>
    /// <exception cref="ModelFormatException">Anything is wrong with the stream's contents, or it cannot be read.</exception>
    public static ModelFile Read(Stream stream, string sourceName) => throw new NotImplementedException("format work in progress");

    /// <summary>Reads and validates a weight file from disk.</summary>
    /// <exception cref="ModelFormatException">The file is missing, unreadable, a directory, or malformed.</exception>
    public static ModelFile ReadFile(string path) => throw new NotImplementedException("format work in progress");

    /// <summary>Serializes to the current format version.</summary>
    public byte[] ToBytes() => throw new NotImplementedException("format work in progress");

    /// <summary>Serializes to <paramref name="stream"/>.</summary>
    public void Write(Stream stream) => throw new NotImplementedException("format work in progress");

    /// <summary>Writes to <paramref name="path"/> atomically: a temporary file beside it, then a rename.</summary>
    public void WriteFile(string path) => throw new NotImplementedException("format work in progress");
}
