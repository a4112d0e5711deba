using MessagePack;
using TextGen.Runtime.Format;

namespace TextGen.Tests.Format;

/// <summary>
/// Recomputes the digests of a damaged file in place, with the Runtime's own <see cref="ModelFileChecksums"/>, so a
/// mutation is judged by the parser's structural checks instead of being caught by <c>header_sha256</c> first.
/// The spans hashed are found with <see cref="MessagePackLayout"/>, the same ones the reader would hash had it got
/// that far: tensor <c>data</c> payloads, and everything before the <c>header_sha256</c> key minus those payloads.
/// </summary>
internal static class ModelFileSeal
{
    /// <summary>Re-seals what can still be found; false when neither digest could be located.</summary>
    public static bool TryReseal(byte[] bytes)
    {
        var layout = MessagePackLayout.Of(bytes);
        var payloads = layout.Values
            .Where(v => !v.IsKey && v.Type == MessagePackType.Binary && v.End >= 0 && IsTensorData(v.Path))
            .Select(v => (Start: v.PayloadStart, Length: (int)v.Count))
            .ToList();
        bool sealedAny = false;

        var tensorDigest = layout.Find(ModelFileSchema.TensorSha256Key, MessagePackType.Binary);
        if (tensorDigest is { Count: ModelFileSchema.Sha256Bytes })
        {
            var tensors = payloads.Select(p => ModelTensor.Adopt("data", TensorDType.F32, Array.Empty<int>(), bytes.AsMemory(p.Start, p.Length))).ToList();
            ModelFileChecksums.TensorData(tensors).CopyTo(bytes, tensorDigest.PayloadStart);
            sealedAny = true;
        }

        var headerKey = layout.FindKey(ModelFileSchema.HeaderSha256Key);
        var headerDigest = layout.Find(ModelFileSchema.HeaderSha256Key, MessagePackType.Binary);
        if (headerKey is not null && headerDigest is { Count: ModelFileSchema.Sha256Bytes } && headerDigest.Offset > headerKey.Offset)
        {
            var covered = payloads.Where(p => p.Start + p.Length <= headerKey.Offset).ToList();
            ModelFileChecksums.Header(bytes.AsSpan(0, headerKey.Offset), covered).CopyTo(bytes, headerDigest.PayloadStart);
            sealedAny = true;
        }
        return sealedAny;
    }

    private static bool IsTensorData(string path) => path.StartsWith("tensors[", StringComparison.Ordinal) && path.EndsWith("].data", StringComparison.Ordinal) && path.IndexOf('.') == path.Length - 5;
}
