using System.Security.Cryptography;

namespace TextGen.Runtime.Format;

/// <summary>
/// The two SHA-256 digests of a weight file. <c>tensor_sha256</c> identifies the weights (it is what
/// <c>inspect --json</c> reports); <c>header_sha256</c> covers every other byte, so that together they make every
/// corruption of the file detectable, not only corruption of the weights.
/// </summary>
internal static class ModelFileChecksums
{
    /// <summary><c>tensor_sha256</c> of <paramref name="tensors"/> as the current format version defines it.</summary>
    public static byte[] TensorData(IReadOnlyList<ModelTensor> tensors)
    {
        int bytes = (int)Math.Min(tensors.Sum(t => (long)t.Data.Length), int.MaxValue);
        using var digest = new TensorDigest(TensorDigestScheme.Pieces, TensorDigest.MaxPieces(tensors.Count, bytes), helperThreads: 0);
        foreach (var tensor in tensors) digest.Add(tensor.Data, floats: default);
        return digest.Finish();
    }

    /// <summary>
    /// SHA-256 over <paramref name="prefix"/> (the file up to the <c>header_sha256</c> key) minus the tensor data
    /// <paramref name="payloads"/>, given in increasing order. The payloads are left out because
    /// <c>tensor_sha256</c>, which lies inside the prefix, already covers them: hashing them twice would double the load time.
    /// </summary>
    public static byte[] Header(ReadOnlySpan<byte> prefix, IReadOnlyList<(int Start, int Length)> payloads)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        int next = 0;
        foreach (var (start, length) in payloads)
        {
            hash.AppendData(prefix.Slice(next, start - next));
            next = start + length;
        }
        hash.AppendData(prefix.Slice(next));
        return hash.GetHashAndReset();
    }

    /// <summary>Lowercase hexadecimal, as reported by tools.</summary>
    public static string ToHex(ReadOnlySpan<byte> digest)
    {
        const string digits = "0123456789abcdef";
        var chars = new char[digest.Length * 2];
        for (int i = 0; i < digest.Length; i++)
        {
            chars[2 * i] = digits[digest[i] >> 4];
            chars[2 * i + 1] = digits[digest[i] & 0xF];
        }
        return new string(chars);
    }
}
