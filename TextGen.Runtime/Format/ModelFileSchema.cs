using System.Text;

namespace TextGen.Runtime.Format;

/// <summary>
/// The names a <c>*.tgm</c> document uses, shared by <see cref="ModelFileReader"/> and <see cref="ModelFileWriter"/>
/// so the two cannot drift apart. Every map's keys are listed in the order the format requires (docs/format.md).
/// </summary>
internal static class ModelFileSchema
{
    public const string MagicKey = "magic";
    public const string VersionKey = "version";
    public const string ArchitectureKey = "architecture";
    public const string TensorsKey = "tensors";
    public const string MetadataKey = "metadata";
    public const string TensorSha256Key = "tensor_sha256";
    public const string HeaderSha256Key = "header_sha256";

    public const string CellKey = "cell";
    public const string LayersKey = "layers";
    public const string HiddenKey = "hidden";
    public const string EmbeddingKey = "embedding";
    public const string VocabularyKey = "vocabulary";

    public const string NameKey = "name";
    public const string DTypeKey = "dtype";
    public const string ShapeKey = "shape";
    public const string DataKey = "data";

    /// <summary>UTF-8 that refuses ill-formed input both ways, so a string in a file maps to exactly one .NET string and back.</summary>
    public static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Length of both SHA-256 digests.</summary>
    public const int Sha256Bytes = 32;

    public static readonly string[] TopLevelKeys = { MagicKey, VersionKey, ArchitectureKey, TensorsKey, MetadataKey, TensorSha256Key, HeaderSha256Key };

    public static readonly string[] ArchitectureKeys = { CellKey, LayersKey, HiddenKey, EmbeddingKey, VocabularyKey };

    public static readonly string[] TensorKeys = { NameKey, DTypeKey, ShapeKey, DataKey };

    /// <summary>The cell's name in a file: <c>rnn</c>, <c>gru</c> or <c>lstm</c>.</summary>
    public static string CellName(CellKind cell) => cell switch
    {
        CellKind.Rnn => "rnn",
        CellKind.Gru => "gru",
        CellKind.Lstm => "lstm",
        _ => throw new ArgumentOutOfRangeException(nameof(cell)),
    };

    public static bool TryParseCell(string name, out CellKind cell)
    {
        foreach (CellKind candidate in new[] { CellKind.Rnn, CellKind.Gru, CellKind.Lstm })
        {
            if (name == CellName(candidate))
            {
                cell = candidate;
                return true;
            }
        }
        cell = default;
        return false;
    }

    /// <summary>The dtype's short name used in messages and docs: f32, f16, q8.</summary>
    public static string DTypeName(TensorDType dtype) => dtype switch
    {
        TensorDType.F32 => "f32",
        TensorDType.F16 => "f16",
        TensorDType.Q8 => "q8",
        _ => $"code {(int)dtype}",
    };
}
