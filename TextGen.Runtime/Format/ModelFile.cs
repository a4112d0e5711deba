using System.Collections.ObjectModel;
using System.Text;

namespace TextGen.Runtime.Format;

/// <summary>
/// The contents of a <c>*.tgm</c> weight file: architecture, tensors and metadata. Immutable. Both construction and
/// reading validate every length, shape and value, so an instance is always a model the runtime can run and a file
/// it can read back; see docs/format.md for the byte layout and limits.
/// </summary>
public sealed class ModelFile
{
    /// <summary>Value of the <c>magic</c> key, the first entry of every file.</summary>
    public const string Magic = "TextGen.Model";

    /// <summary>Major format version this runtime writes, and the newest it reads; files of a newer major version are refused.</summary>
    public const int FormatMajorVersion = 2;

    /// <summary>
    /// Oldest major format version this runtime reads. Version 1 differs from 2 only in how <c>tensor_sha256</c> is
    /// computed (docs/format.md, Versioning), so its files load as they always did; they are re-written as version 2.
    /// </summary>
    public const int OldestReadableMajorVersion = 1;

    /// <summary>Minor format version this runtime writes; files of a newer minor version of the same major are read.</summary>
    public const int FormatMinorVersion = 0;

    /// <summary>Largest file accepted, in bytes (1 GiB): far above any char model, and within one .NET array.</summary>
    public const int MaxFileBytes = 1 << 30;

    /// <summary>Largest element count of one tensor (2^28): its f32 bytes then fit in one file and one array.</summary>
    public const int MaxTensorElements = 1 << 28;

    /// <summary>Largest number of metadata entries.</summary>
    public const int MaxMetadataEntries = 1024;

    /// <summary>Largest UTF-8 length of a key, tensor name, cell name or the magic string.</summary>
    public const int MaxKeyBytes = 256;

    /// <summary>Largest UTF-8 length of a metadata string value (64 KiB).</summary>
    public const int MaxMetadataStringBytes = 64 * 1024;

    /// <summary>Deepest nesting of maps and arrays, counting the top-level map as 1; applies to unknown keys' values.</summary>
    public const int MaxNestingDepth = 8;

    /// <summary>Largest number of unknown keys one map may carry (the forward-compatibility allowance).</summary>
    public const int MaxUnknownKeysPerMap = 64;

    private readonly byte[] _tensorSha256;

    /// <summary>Creates file contents and validates them against <paramref name="architecture"/>.</summary>
    /// <param name="architecture">The model's shape and vocabulary.</param>
    /// <param name="tensors">
    /// Exactly <see cref="ModelArchitecture.ExpectedTensors"/>: same names, order and shapes; vectors f32, matrices
    /// f32, f16 or q8; finite values and q8 scales.
    /// </param>
    /// <param name="metadata">String keys (1 to <see cref="MaxKeyBytes"/> UTF-8 bytes) with string or finite number values.</param>
    /// <exception cref="ArgumentException">The tensors or metadata break a rule of docs/format.md.</exception>
    public ModelFile(ModelArchitecture architecture, IReadOnlyList<ModelTensor> tensors, IReadOnlyDictionary<string, MetadataValue> metadata)
    {
        Architecture = architecture ?? throw new ArgumentNullException(nameof(architecture));
        var tensorArray = tensors?.ToArray() ?? throw new ArgumentNullException(nameof(tensors));
        ValidateTensors(architecture, tensorArray);
        var sortedMetadata = ValidateMetadata(metadata ?? throw new ArgumentNullException(nameof(metadata)));

        Tensors = Array.AsReadOnly(tensorArray);
        Metadata = new ReadOnlyDictionary<string, MetadataValue>(sortedMetadata);
        _tensorSha256 = ModelFileChecksums.TensorData(tensorArray);
        TensorSha256 = ModelFileChecksums.ToHex(_tensorSha256);
        FormatVersion = new Version(FormatMajorVersion, FormatMinorVersion);
    }

    private ModelFile(ModelArchitecture architecture, ModelTensor[] tensors, SortedDictionary<string, MetadataValue> metadata, byte[] tensorSha256, Version formatVersion)
    {
        Architecture = architecture;
        Tensors = Array.AsReadOnly(tensors);
        Metadata = new ReadOnlyDictionary<string, MetadataValue>(metadata);
        _tensorSha256 = tensorSha256;
        TensorSha256 = ModelFileChecksums.ToHex(tensorSha256);
        FormatVersion = formatVersion;
    }

    /// <summary>Builds contents the reader has already validated value by value, without checking and hashing twice.</summary>
    internal static ModelFile FromValidatedParts(ModelArchitecture architecture, ModelTensor[] tensors, SortedDictionary<string, MetadataValue> metadata, byte[] tensorSha256, Version formatVersion)
        => new(architecture, tensors, metadata, tensorSha256, formatVersion);

    /// <summary>The model's shape and vocabulary.</summary>
    public ModelArchitecture Architecture { get; }

    /// <summary>Tensors in file order, which is the canonical order of <see cref="ModelArchitecture.ExpectedTensors"/>.</summary>
    public IReadOnlyList<ModelTensor> Tensors { get; }

    /// <summary>
    /// Free-form provenance: corpus name and sha256, steps, validation loss, hyper-parameters, trainer version.
    /// Enumerates in ordinal key order, the order in which it is written.
    /// </summary>
    public IReadOnlyDictionary<string, MetadataValue> Metadata { get; }

    /// <summary>
    /// The SHA-256 digest of the weights as <see cref="FormatVersion"/> defines it, as lowercase hex: the identity of
    /// the weights, stored in the file as <c>tensor_sha256</c> and checked on load. In format 2 it is SHA-256 over the
    /// SHA-256 of every 256 KiB piece of every tensor's data, in file order; in format 1 it was SHA-256 over the data
    /// itself. The same weights therefore have one digest per major version (docs/format.md, Checksums).
    /// </summary>
    public string TensorSha256 { get; }

    /// <summary>The format version the file declared when read, or the version this runtime writes for new contents.</summary>
    public Version FormatVersion { get; }

    internal ReadOnlySpan<byte> TensorSha256Bytes => _tensorSha256;

    /// <summary>How a file of <paramref name="version"/> computes <c>tensor_sha256</c>: its major version's scheme.</summary>
    internal static TensorDigestScheme DigestSchemeOf(Version version)
        => version.Major == 1 ? TensorDigestScheme.Stream : TensorDigestScheme.Pieces;

    /// <summary>The tensor named <paramref name="name"/>, e.g. <c>rnn.weight_ih_l0</c>.</summary>
    /// <exception cref="KeyNotFoundException">No tensor has that name.</exception>
    public ModelTensor GetTensor(string name)
        => Tensors.FirstOrDefault(t => t.Name == name) ?? throw new KeyNotFoundException($"the model has no tensor named \"{name}\"");

    /// <summary>Reads and validates a weight file held in memory (e.g. an asset from a game's pack). The bytes are copied.</summary>
    /// <param name="bytes">The whole file.</param>
    /// <param name="sourceName">Path or asset name used in error messages.</param>
    /// <exception cref="ModelFormatException">Anything is wrong with the file.</exception>
    public static ModelFile Read(ReadOnlyMemory<byte> bytes, string sourceName)
        => ModelFileReader.Read(bytes, sourceName ?? throw new ArgumentNullException(nameof(sourceName)), ownsBuffer: false);

    /// <summary>
    /// Reads and validates a weight file from a stream, read from its current position to its end. Reading stops
    /// with an error once more than <see cref="MaxFileBytes"/> bytes arrive. The stream is not closed.
    /// </summary>
    /// <exception cref="ModelFormatException">Anything is wrong with the stream's contents, or it cannot be read.</exception>
    public static ModelFile Read(Stream stream, string sourceName)
    {
        if (sourceName is null) throw new ArgumentNullException(nameof(sourceName));
        return ModelFileReader.Read(ModelFileStorage.ReadStream(stream, sourceName, MaxFileBytes), sourceName, ownsBuffer: true);
    }

    /// <summary>Reads and validates a weight file from disk.</summary>
    /// <exception cref="ModelFormatException">The file is missing, unreadable, a directory, or malformed.</exception>
    public static ModelFile ReadFile(string path)
        => ModelFileReader.Read(ModelFileStorage.ReadFile(path, MaxFileBytes), path, ownsBuffer: true);

    /// <summary>The dtype all of the file's matrices are stored in (biases are always f32).</summary>
    public TensorDType MatrixDType => Tensors.First(t => t.Shape.Count == 2).DType;

    /// <summary>
    /// These contents with every matrix stored as <paramref name="dtype"/> (see <see cref="ModelTensor.ConvertTo(TensorDType)"/>;
    /// biases stay f32) and the same metadata: how <c>export --dtype</c> makes f16 and q8 files.
    /// </summary>
    /// <exception cref="ArgumentException">A weight does not fit <paramref name="dtype"/>, or the dtype is unknown.</exception>
    public ModelFile ConvertTo(TensorDType dtype) => ConvertTo(dtype, Q8Scaling.PerRow);

    /// <summary><see cref="ConvertTo(TensorDType)"/> with q8 scaled per <paramref name="scaling"/>.</summary>
    internal ModelFile ConvertTo(TensorDType dtype, Q8Scaling scaling)
        => new(Architecture, Tensors.Select(t => t.ConvertTo(dtype, scaling)).ToArray(), Metadata);

    /// <summary>
    /// Whether every matrix but the embedding (decoded to f32 at load) is q8 with one scale per row
    /// (<see cref="TensorEncoding.HasRowScales"/>), layer 0's W_ih included where the input table replaces it: the model
    /// then runs <see cref="Kernels.RowQ8MatrixVector"/>.
    /// A matrix whose rows fit one block of 32 has one scale per row however it was written.
    /// </summary>
    internal bool HasRowScaledQ8 => Tensors.All(t => t.Shape.Count != 2 || t.Name == ModelArchitecture.EmbeddingName
        || (t.DType == TensorDType.Q8 && TensorEncoding.HasRowScales(t.Shape[0], t.Shape[1], t.Data.Span)));

    /// <summary>Serializes to the current format version. The same contents always give the same bytes.</summary>
    /// <exception cref="InvalidOperationException">The file would exceed <see cref="MaxFileBytes"/>.</exception>
    public byte[] ToBytes() => ModelFileWriter.Write(this);

    /// <summary>Serializes to <paramref name="stream"/> at its current position.</summary>
    /// <exception cref="InvalidOperationException">The file would exceed <see cref="MaxFileBytes"/>.</exception>
    /// <exception cref="IOException">The stream cannot be written.</exception>
    public void Write(Stream stream)
    {
        if (stream is null) throw new ArgumentNullException(nameof(stream));
        byte[] bytes = ToBytes();
        stream.Write(bytes, 0, bytes.Length);
    }

    /// <summary>
    /// Writes to <paramref name="path"/> atomically: a temporary file in the same directory, flushed to disk, then
    /// renamed over the target. On failure the temporary file is deleted and an existing file at the path is untouched.
    /// </summary>
    /// <exception cref="InvalidOperationException">The file would exceed <see cref="MaxFileBytes"/>.</exception>
    /// <exception cref="IOException">The directory is missing, the path is a directory, or the disk fails.</exception>
    /// <exception cref="UnauthorizedAccessException">The directory or file is not writable.</exception>
    public void WriteFile(string path) => ModelFileStorage.WriteFileAtomically(path, ToBytes());

    // ---- rules shared by the constructor and the reader ----

    internal static string? TensorElementsProblem(long elements)
        => elements > MaxTensorElements ? $"the tensor has {elements} elements; the limit is {MaxTensorElements}" : null;

    internal static string? MetadataKeyProblem(string key) => string.IsNullOrEmpty(key) ? "metadata keys must not be empty" : null;

    internal static string? MetadataNumberProblem(double number)
        => double.IsNaN(number) || double.IsInfinity(number) ? $"metadata numbers must be finite, found {number}" : null;

    private static void ValidateTensors(ModelArchitecture architecture, ModelTensor[] tensors)
    {
        var specs = architecture.ExpectedTensors();
        if (tensors.Length != specs.Count)
        {
            throw new ArgumentException($"the architecture needs {specs.Count} tensors ({string.Join(", ", specs.Select(s => s.Name))}) but {tensors.Length} were given", nameof(tensors));
        }
        long totalBytes = 0;
        TensorDType? matrixDType = null;
        for (int i = 0; i < specs.Count; i++)
        {
            var spec = specs[i];
            var tensor = tensors[i] ?? throw new ArgumentException($"tensor {i} is null", nameof(tensors));
            string? problem =
                tensor.Name != spec.Name ? $"tensor {i} is \"{tensor.Name}\" but the architecture needs \"{spec.Name}\" there (canonical order)"
                : !tensor.Shape.SequenceEqual(spec.Shape) ? $"tensor {spec.Name} has shape ({string.Join(", ", tensor.Shape)}) but the architecture needs ({string.Join(", ", spec.Shape)})"
                : TensorEncoding.DTypeProblem((long)tensor.DType, spec.Shape.Count, matrixDType) ?? TensorElementsProblem(spec.ElementCount)
                ?? (tensor.Data.Length != TensorEncoding.DataBytes(tensor.DType, spec.Shape)
                    ? $"tensor {spec.Name} holds {tensor.Data.Length} bytes but its {ModelFileSchema.DTypeName(tensor.DType)} shape needs {TensorEncoding.DataBytes(tensor.DType, spec.Shape)}" : null)
                ?? TensorEncoding.ValueProblem(spec.Name, tensor.DType, spec.Shape, tensor.Data.Span, out _);
            if (problem is not null) throw new ArgumentException(problem, nameof(tensors));
            totalBytes += tensor.Data.Length;
            if (spec.Shape.Count == 2) matrixDType = tensor.DType;
        }
        if (totalBytes > MaxFileBytes) throw new ArgumentException($"the tensors hold {totalBytes} bytes; a model file may hold at most {MaxFileBytes}", nameof(tensors));
    }

    private static SortedDictionary<string, MetadataValue> ValidateMetadata(IReadOnlyDictionary<string, MetadataValue> metadata)
    {
        if (metadata.Count > MaxMetadataEntries) throw new ArgumentException($"{metadata.Count} metadata entries; the limit is {MaxMetadataEntries}", nameof(metadata));
        var sorted = new SortedDictionary<string, MetadataValue>(StringComparer.Ordinal);
        foreach (var entry in metadata)
        {
            string? problem = MetadataKeyProblem(entry.Key)
                ?? Utf8LengthProblem($"metadata key \"{entry.Key}\"", entry.Key, MaxKeyBytes)
                ?? (entry.Value.IsString
                    ? Utf8LengthProblem($"metadata value of \"{entry.Key}\"", entry.Value.String, MaxMetadataStringBytes)
                    : MetadataNumberProblem(entry.Value.Number));
            if (problem is not null) throw new ArgumentException(problem, nameof(metadata));
            sorted.Add(entry.Key, entry.Value);
        }
        return sorted;
    }

    private static string? Utf8LengthProblem(string what, string text, int maxBytes)
    {
        int bytes;
        try
        {
            bytes = ModelFileSchema.Utf8.GetByteCount(text);
        }
        catch (EncoderFallbackException)
        {
            return $"{what} is not well-formed UTF-16 (it holds a lone surrogate), so it has no UTF-8 form";
        }
        return bytes > maxBytes ? $"{what} is {bytes} UTF-8 bytes; the limit is {maxBytes}" : null;
    }
}
