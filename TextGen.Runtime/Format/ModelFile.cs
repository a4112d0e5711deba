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
}
