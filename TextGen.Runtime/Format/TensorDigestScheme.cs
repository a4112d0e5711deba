namespace TextGen.Runtime.Format;

/// <summary>How <c>tensor_sha256</c> is computed from the tensor data, by format major version (docs/format.md, Checksums).</summary>
internal enum TensorDigestScheme
{
    /// <summary>Format 1: SHA-256 over all tensor data in file order.</summary>
    Stream = 1,

    /// <summary>Format 2: SHA-256 over the SHA-256 digests of every tensor's <see cref="TensorDigest.PieceBytes"/> pieces, in file order.</summary>
    Pieces = 2,
}
