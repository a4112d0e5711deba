using System.Buffers.Binary;
using System.Security.Cryptography;
using TextGen.Runtime.Format;
using TextGen.Runtime.Generation;

namespace TextGen.Runtime.Model;

/// <summary>
/// A loaded character-level model: immutable weights and vocabulary, safe to share between threads. Load it once,
/// then give every caller its own <see cref="TextGenerator"/> from <see cref="CreateGenerator"/>.
/// </summary>
public sealed class TextModel
{
    private TextModel(ModelFile file, ModelWeights weights, ulong fingerprint)
    {
        Architecture = file.Architecture;
        Metadata = file.Metadata;
        Weights = weights;
        Vocabulary = new Vocabulary(file.Architecture.Vocabulary);
        Fingerprint = fingerprint;
    }

    /// <summary>The model's cell, sizes and vocabulary.</summary>
    public ModelArchitecture Architecture { get; }

    /// <summary>The weight file's metadata: corpus, training steps, validation loss, hyper-parameters.</summary>
    public IReadOnlyDictionary<string, MetadataValue> Metadata { get; }

    /// <summary>Number of token ids (distinct characters).</summary>
    public int VocabularySize => Vocabulary.Count;

    internal ModelWeights Weights { get; }

    internal Vocabulary Vocabulary { get; }

    /// <summary>SHA-256 (first 8 bytes) of the architecture and the tensor bytes: ties saved generator states to their model.</summary>
    internal ulong Fingerprint { get; }

    /// <summary>Loads a <c>*.tgm</c> weight file from disk.</summary>
    /// <exception cref="ModelFormatException">The file is missing, unreadable or malformed, or holds weights this runtime cannot run.</exception>
    public static TextModel Load(string path) => FromFile(ModelFile.ReadFile(path), path);

    /// <summary>Loads a weight file from a stream (e.g. an asset in a game's pack), read to its end.</summary>
    /// <param name="stream">The file's bytes.</param>
    /// <param name="sourceName">Path or asset name used in error messages.</param>
    /// <exception cref="ModelFormatException">The contents are malformed or hold weights this runtime cannot run.</exception>
    public static TextModel Load(Stream stream, string sourceName) => FromFile(ModelFile.Read(stream, sourceName), sourceName);

    /// <summary>Loads a weight file held in memory.</summary>
    /// <param name="bytes">The whole file.</param>
    /// <param name="sourceName">Path or asset name used in error messages.</param>
    /// <exception cref="ModelFormatException">The contents are malformed or hold weights this runtime cannot run.</exception>
    public static TextModel Load(ReadOnlyMemory<byte> bytes, string sourceName) => FromFile(ModelFile.Read(bytes, sourceName), sourceName);

    /// <summary>Builds a model from weight-file contents already in memory (e.g. straight from the trainer).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="file"/> is null.</exception>
    /// <exception cref="ModelFormatException">A tensor is missing, has the wrong shape, or a dtype this runtime cannot run.</exception>
    public static TextModel FromFile(ModelFile file) => FromFile(file, "in-memory model");

    /// <summary>As <see cref="FromFile(ModelFile)"/>; a smaller <paramref name="maxInputTableFloats"/> lets tests run the first layer without its input table.</summary>
    internal static TextModel FromFile(ModelFile file, string sourceName, int maxInputTableFloats = ModelWeights.DefaultMaxInputTableFloats)
    {
        if (file is null) throw new ArgumentNullException(nameof(file));
        ModelWeights weights = ModelWeights.FromFile(file, sourceName, maxInputTableFloats);
        return new TextModel(file, weights, ComputeFingerprint(file));
    }

    /// <summary>Unicode scalar value of <paramref name="tokenId"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a token id of this model.</exception>
    public int GetScalar(int tokenId)
    {
        if ((uint)tokenId >= (uint)Vocabulary.Count) throw new ArgumentOutOfRangeException(nameof(tokenId), tokenId, $"token ids run from 0 to {Vocabulary.Count - 1}");
        return Vocabulary.ScalarOf(tokenId);
    }

    /// <summary>The token id of a Unicode scalar value (a <c>char</c> converts implicitly); false when the vocabulary lacks it. Allocation-free.</summary>
    public bool TryGetTokenId(int scalar, out int tokenId)
    {
        tokenId = Vocabulary.IdOf(scalar);
        return tokenId >= 0;
    }

    /// <summary>A new generator with its own state; <paramref name="options"/> default to <c>new GeneratorOptions()</c>.</summary>
    /// <exception cref="ArgumentException">The options allow no character of the vocabulary, or the replacement character is not in it.</exception>
    public TextGenerator CreateGenerator(GeneratorOptions? options = null) => new(this, options ?? new GeneratorOptions());

    private static ulong ComputeFingerprint(ModelFile file)
    {
        ModelArchitecture a = file.Architecture;
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var number = new byte[4];
        void AppendInt(int value)
        {
            BinaryPrimitives.WriteInt32LittleEndian(number, value);
            sha.AppendData(number);
        }
        AppendInt((int)a.Cell);
        AppendInt(a.Layers);
        AppendInt(a.HiddenSize);
        AppendInt(a.EmbeddingSize);
        foreach (int scalar in a.Vocabulary) AppendInt(scalar);
        var byName = file.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        foreach (TensorSpec spec in a.ExpectedTensors())
        {
            ModelTensor tensor = byName[spec.Name];
            AppendInt((int)tensor.DType);
            sha.AppendData(tensor.Data.Span);
        }
        Span<byte> digest = stackalloc byte[32];
        sha.TryGetHashAndReset(digest, out _);
        return BinaryPrimitives.ReadUInt64LittleEndian(digest);
    }
}
