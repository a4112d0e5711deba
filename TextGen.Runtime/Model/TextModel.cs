using System.Buffers.Binary;
using System.Security.Cryptography;
using TextGen.Runtime.Format;
using TextGen.Runtime.Generation;
using TextGen.Runtime.Kernels;

namespace TextGen.Runtime.Model;

/// <summary>
/// A loaded character-level model: immutable weights and vocabulary, safe to share between threads. Load it once,
/// then give every caller its own <see cref="TextGenerator"/> from <see cref="CreateGenerator"/>.
/// </summary>
public sealed class TextModel
{
    private TextModel(ModelFile file, ModelWeights weights, Vocabulary vocabulary, ulong fingerprint)
    {
        Architecture = file.Architecture;
        Metadata = file.Metadata;
        Weights = weights;
        Vocabulary = vocabulary;
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
    public static TextModel Load(string path) => Load(path, options: null);

    /// <summary>Loads a <c>*.tgm</c> weight file from disk; <paramref name="options"/> default to <c>new ModelLoadOptions()</c>.</summary>
    /// <exception cref="ModelFormatException">The file is missing, unreadable or malformed, or holds weights this runtime cannot run.</exception>
    public static TextModel Load(string path, ModelLoadOptions? options) => Load(path, options, profile: null);

    /// <summary>Loads a weight file from a stream (e.g. an asset in a game's pack), read to its end.</summary>
    /// <param name="stream">The file's bytes.</param>
    /// <param name="sourceName">Path or asset name used in error messages.</param>
    /// <exception cref="ModelFormatException">The contents are malformed or hold weights this runtime cannot run.</exception>
    public static TextModel Load(Stream stream, string sourceName) => Load(stream, sourceName, options: null);

    /// <summary>As <see cref="Load(Stream, string)"/>; <paramref name="options"/> default to <c>new ModelLoadOptions()</c>.</summary>
    /// <exception cref="ModelFormatException">The contents are malformed or hold weights this runtime cannot run.</exception>
    public static TextModel Load(Stream stream, string sourceName, ModelLoadOptions? options)
        => Load(stream, sourceName ?? throw new ArgumentNullException(nameof(sourceName)), options, profile: null);

    /// <summary>Loads a weight file held in memory. The bytes are only read during the call; the model keeps no reference to them.</summary>
    /// <param name="bytes">The whole file; must not change during the call.</param>
    /// <param name="sourceName">Path or asset name used in error messages.</param>
    /// <exception cref="ModelFormatException">The contents are malformed or hold weights this runtime cannot run.</exception>
    public static TextModel Load(ReadOnlyMemory<byte> bytes, string sourceName) => Load(bytes, sourceName, options: null);

    /// <summary>As <see cref="Load(ReadOnlyMemory{byte}, string)"/>; <paramref name="options"/> default to <c>new ModelLoadOptions()</c>.</summary>
    /// <exception cref="ModelFormatException">The contents are malformed or hold weights this runtime cannot run.</exception>
    public static TextModel Load(ReadOnlyMemory<byte> bytes, string sourceName, ModelLoadOptions? options)
        => Load(bytes, sourceName ?? throw new ArgumentNullException(nameof(sourceName)), ownsBuffer: false, options, profile: null);

    /// <summary>As <see cref="Load(string, ModelLoadOptions?)"/>, recording the phases in <paramref name="profile"/>.</summary>
    internal static TextModel Load(string path, ModelLoadOptions? options, LoadProfile? profile)
    {
        using FileStream stream = ModelFileStorage.OpenFile(path);
        return Load(stream, path, options, profile);
    }

    /// <summary>
    /// As <see cref="Load(Stream, string, ModelLoadOptions?)"/>, recording the phases in <paramref name="profile"/>. A
    /// stream that knows its length (a file, an asset in memory) is read as the parse reaches each part, each f32
    /// payload straight into the array the weights keep (<see cref="StreamedFileBytes"/>); any other is read whole first.
    /// </summary>
    internal static TextModel Load(Stream stream, string sourceName, ModelLoadOptions? options, LoadProfile? profile)
    {
        StreamedFileBytes? incoming = StreamedFileBytes.TryOpen(stream, sourceName, ModelFile.MaxFileBytes);
        if (incoming is null) return Load(ModelFileStorage.ReadStream(stream, sourceName, ModelFile.MaxFileBytes), sourceName, ownsBuffer: true, options, profile);
        bool helper = (options ?? DefaultLoadOptions).UseHelperThread;
        return ModelFileReader.Read(incoming, sourceName, file => FromFile(file, ModelWeights.DefaultMaxInputTableFloats, profile), helper, profile);
    }

    /// <summary>
    /// Reads, checks and decodes in one pass: each f32 tensor is copied once, straight into the array the weights
    /// keep, checked for NaN and infinity as it is copied and hashed from that copy (on a helper thread unless the
    /// options say otherwise), and the model (input table, vocabulary, fingerprint) is built while the helper is still
    /// hashing; it is returned only once the digest matches (on one thread it is built after). The file read this way borrows <paramref name="bytes"/>,
    /// so it never leaves this method.
    /// </summary>
    internal static TextModel Load(ReadOnlyMemory<byte> bytes, string sourceName, bool ownsBuffer, ModelLoadOptions? options, LoadProfile? profile)
    {
        bool helper = (options ?? DefaultLoadOptions).UseHelperThread;
        return ModelFileReader.Read(bytes, sourceName, ownsBuffer, file => FromFile(file, ModelWeights.DefaultMaxInputTableFloats, profile), decodeFloat32: true, useHelperThread: helper, profile);
    }

    private static readonly ModelLoadOptions DefaultLoadOptions = new();

    /// <summary>Builds a model from weight-file contents already in memory (e.g. straight from the trainer).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="file"/> is null.</exception>
    public static TextModel FromFile(ModelFile file) => FromFile(file, ModelWeights.DefaultMaxInputTableFloats);

    /// <summary>
    /// As <see cref="FromFile(ModelFile)"/>; a smaller <paramref name="maxInputTableFloats"/> lets tests run the first
    /// layer without its input table, and <paramref name="portableLayout"/> lets them lay f16 and q8 weights out
    /// either way on any machine (true: f16 widened, q8 lane-interleaved; false: both as stored), or
    /// <paramref name="q8Layout"/> q8 weights in any layout, and <paramref name="pairHalves"/> f16 ones in block pairs or not
    /// (<see cref="WeightRows.PairedHalves"/>). By default this machine chooses (<see cref="KernelMode.WantsPortableLayout"/>,
    /// <see cref="KernelMode.BestQ8Layout"/>, <see cref="KernelMode.PairsHalves"/>), and small f16 models are
    /// widened everywhere (<see cref="ModelWeights.WidenedF16MaxBytes"/>).
    /// </summary>
    internal static TextModel FromFile(ModelFile file, int maxInputTableFloats, LoadProfile? profile = null, bool? portableLayout = null, Q8Layout? q8Layout = null, bool? pairHalves = null)
    {
        if (file is null) throw new ArgumentNullException(nameof(file));
        bool widenF16 = portableLayout ?? (KernelMode.WantsPortableLayout || ModelWeights.FitsWidened(file));
        Q8Layout quants = q8Layout ?? portableLayout switch
        {
            true => Q8Layout.LaneInterleaved,
            false => Q8Layout.FileOrder,
            null => KernelMode.BestQ8Layout,
        };
        bool pairs = pairHalves ?? (portableLayout is null && KernelMode.PairsHalves);
        ModelWeights weights = ModelWeights.FromFile(file, maxInputTableFloats, quants, widenF16, profile, pairs);
        long phaseStart = profile.Start();
        var vocabulary = new Vocabulary(file.Architecture.Vocabulary);
        phaseStart = profile.Lap("vocabulary", phaseStart);
        ulong fingerprint = ComputeFingerprint(file);
        profile.Lap("fingerprint", phaseStart);
        return new TextModel(file, weights, vocabulary, fingerprint);
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
        foreach (ModelTensor tensor in file.Tensors) AppendInt((int)tensor.DType);
        // The file already hashed every weight byte; hashing its digest avoids a second pass over megabytes at load.
        sha.AppendData(file.TensorSha256Bytes.ToArray());
        Span<byte> digest = stackalloc byte[32];
        sha.TryGetHashAndReset(digest, out _);
        return BinaryPrimitives.ReadUInt64LittleEndian(digest);
    }
}
