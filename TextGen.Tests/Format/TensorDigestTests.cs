using System.Runtime.InteropServices;
using System.Security.Cryptography;
using TextGen.Runtime.Format;

namespace TextGen.Tests.Format;

/// <summary>
/// <see cref="TensorDigest"/>, with and without helper threads, against the digests docs/format.md defines, computed
/// here directly: format 1's SHA-256 of the concatenated tensors, format 2's SHA-256 of their pieces' SHA-256s.
/// </summary>
public sealed class TensorDigestTests
{
    // Empty, tiny, odd-sized and longer than several pieces (19 whole ones in all, enough for a batch in lanes); some
    // given as decoded floats too.
    private static (byte[] Bytes, float[]? Floats)[] Tensors()
    {
        var random = new Random(5);
        return new[] { 0, 3, 4096, 1 << 20, (1 << 20) + 12, 40, 12 * TensorDigest.PieceBytes - 4 }.Select((length, i) =>
        {
            var floats = new float[length / 4];
            for (int k = 0; k < floats.Length; k++) floats[k] = (float)(random.NextDouble() - 0.5);
            byte[] bytes = new byte[length];
            random.NextBytes(bytes);
            if (i % 2 == 0) MemoryMarshal.AsBytes(floats.AsSpan()).CopyTo(bytes);
            return (bytes, i % 2 == 0 && length % 4 == 0 ? floats : null);
        }).ToArray();
    }

    private static byte[] Expected(TensorDigestScheme scheme, IEnumerable<byte[]> tensors)
    {
        if (scheme == TensorDigestScheme.Stream) return SHA256.HashData(tensors.SelectMany(t => t).ToArray());
        var pieceDigests = tensors.SelectMany(t => t.Chunk(TensorDigest.PieceBytes)).SelectMany(SHA256.HashData).ToArray();
        return SHA256.HashData(pieceDigests);
    }

    private static int MaxPieces((byte[] Bytes, float[]? Floats)[] tensors) => TensorDigest.MaxPieces(tensors.Length, tensors.Sum(t => t.Bytes.Length));

    [TestCase(1, 0, 0, true)]
    [TestCase(1, 3, 1, true)]
    [TestCase(2, 0, 0, true)]
    [TestCase(2, 1, 1, true)]
    [TestCase(2, 3, 3, true)]
    [TestCase(2, 0, 0, false)]
    [TestCase(2, 1, 1, false)]
    public void TheDigestIsTheOneTheFormatDefines(int formatMajor, int helpers, int expectedHelpers, bool hashesInLanes)
    {
        var scheme = (TensorDigestScheme)formatMajor;
        var tensors = Tensors();

        using var digest = new TensorDigest(scheme, MaxPieces(tensors), helpers, hashesInLanes: hashesInLanes);
        foreach (var (bytes, floats) in tensors) digest.Add(bytes, floats);

        Assert.That(digest.HelperThreads, Is.EqualTo(expectedHelpers), "a format 1 digest is one sequential pass: one helper at most");
        Assert.That(digest.HashesInLanes, Is.EqualTo(hashesInLanes && scheme == TensorDigestScheme.Pieces && TensorDigest.LaneBatch > 1));
        Assert.That(digest.Finish(), Is.EqualTo(Expected(scheme, tensors.Select(t => t.Bytes))));
    }

    [TestCase(0, true)]
    [TestCase(1, true)]
    [TestCase(3, true)]
    [TestCase(1, false)]
    public void WholePiecesHashedSixteenAtATimeGiveTheSameDigest(int helpers, bool hashesInLanes)
    {
        // 45 whole pieces between short ones: two batches of 16, then, once the reader is done, 13 left one at a time,
        // as a load of the shipped model meets them; added a piece at a time like the reader, some as checked floats.
        const int piece = TensorDigest.PieceBytes;
        var random = new Random(11);
        var lengths = new[] { 100, 20 * piece, 3 * piece + 12, 4, 16 * piece, 6 * piece };
        var tensors = lengths.Select(length => { var b = new byte[length]; random.NextBytes(b); return b; }).ToArray();

        using var digest = new TensorDigest(TensorDigestScheme.Pieces, TensorDigest.MaxPieces(tensors.Length, lengths.Sum()), helpers, hashesInLanes: hashesInLanes);
        foreach (var (bytes, i) in tensors.Select((t, i) => (t, i)))
        for (int start = 0; start < bytes.Length; start += piece)
        {
            int length = Math.Min(piece, bytes.Length - start);
            float[]? floats = i % 2 == 1 && length % 4 == 0 ? MemoryMarshal.Cast<byte, float>(bytes.AsSpan(start, length)).ToArray() : null;
            digest.Add(bytes.AsMemory(start, length), floats);
        }

        Assert.That(digest.Finish(), Is.EqualTo(Expected(TensorDigestScheme.Pieces, tensors)));
    }

    [Test]
    public void PiecesRestartAtEveryTensor()
    {
        // Two tensors of 1.5 pieces: four pieces (1, 0.5, 1, 0.5), not three pieces of the concatenated data.
        var random = new Random(3);
        byte[] first = new byte[TensorDigest.PieceBytes * 3 / 2], second = new byte[TensorDigest.PieceBytes * 3 / 2];
        random.NextBytes(first);
        random.NextBytes(second);
        byte[] acrossTensors = SHA256.HashData(first.Concat(second).Chunk(TensorDigest.PieceBytes).SelectMany(SHA256.HashData).ToArray());

        using var digest = new TensorDigest(TensorDigestScheme.Pieces, 8, helperThreads: 1);
        digest.Add(first, default);
        digest.Add(second, default);
        byte[] actual = digest.Finish();

        Assert.That(actual, Is.EqualTo(Expected(TensorDigestScheme.Pieces, [first, second])));
        Assert.That(actual, Is.Not.EqualTo(acrossTensors));
    }

    [TestCase(1, 1)]
    [TestCase(2, 3)]
    public void ATensorAddedInPiecesHashesLikeTheWholeTensor(int formatMajor, int helpers)
    {
        var scheme = (TensorDigestScheme)formatMajor;
        // As the reader adds a large f32 tensor: its bytes and its checked copy, one piece at a time.
        var random = new Random(9);
        var floats = new float[(5 * TensorDigest.PieceBytes + 44) / sizeof(float)];
        for (int k = 0; k < floats.Length; k++) floats[k] = (float)(random.NextDouble() - 0.5);
        byte[] bytes = MemoryMarshal.AsBytes(floats.AsSpan()).ToArray();

        using var digest = new TensorDigest(scheme, TensorDigest.MaxPieces(1, bytes.Length), helpers);
        for (int start = 0; start < bytes.Length; start += TensorDigest.PieceBytes)
        {
            int length = Math.Min(TensorDigest.PieceBytes, bytes.Length - start);
            digest.Add(bytes.AsMemory(start, length), floats.AsMemory(start / sizeof(float), length / sizeof(float)));
        }

        Assert.That(digest.Finish(), Is.EqualTo(Expected(scheme, [bytes])));
    }

    [Test]
    public void ManyDigestsAtOnceAllAgree()
    {
        var tensors = Tensors();
        byte[] expected = Expected(TensorDigestScheme.Pieces, tensors.Select(t => t.Bytes));

        var digests = Enumerable.Range(0, 16).Select(i => Task.Run(() =>
        {
            using var digest = new TensorDigest(TensorDigestScheme.Pieces, MaxPieces(tensors), helperThreads: i % 4);
            foreach (var (bytes, floats) in tensors) digest.Add(bytes, floats);
            return digest.Finish();
        })).ToArray();
        Task.WaitAll(digests);

        Assert.That(digests.Select(d => d.Result), Is.All.EqualTo(expected));
    }

    [TestCase(1, 0)]
    [TestCase(1, 3)]
    [TestCase(2, 0)]
    [TestCase(2, 5)]
    public void AnAbandonedDigestStopsWithoutAFinish(int formatMajor, int added)
    {
        var scheme = (TensorDigestScheme)formatMajor;
        var tensors = Tensors();
        var digest = new TensorDigest(scheme, MaxPieces(tensors), helperThreads: 3);
        foreach (var (bytes, floats) in tensors.Take(added)) digest.Add(bytes, floats);

        // Were a helper left waiting for pieces, Dispose would wait for it for ever: a time limit makes that a failure, not a hung run.
        var disposal = Task.Run(digest.Dispose);
        Assert.That(disposal.Wait(TimeSpan.FromSeconds(30)), Is.True, "Dispose returned");
        Assert.That(disposal.IsCompletedSuccessfully, Is.True);
    }

    [TestCase(1, 13_291_525, 64, 1)]
    [TestCase(2, 13_291_525, 64, TensorDigest.MaxHelperThreads)]
    [TestCase(2, 13_291_525, 8, 7)]
    [TestCase(2, 13_291_525, 4, 3)]
    [TestCase(2, 13_291_525, 2, 1)]
    [TestCase(2, 13_291_525, 1, 0)]
    [TestCase(2, 3 << 20, 64, 3)]
    [TestCase(2, (3 << 20) - 1, 64, 2)]
    [TestCase(2, (1 << 20) - 1, 64, 0)]
    public void HelpersComeOnePerMiBUpToOneFewerThanTheCores(int formatMajor, int fileBytes, int processors, int expected)
    {
        Assert.That(TensorDigest.HelperThreadsFor((TensorDigestScheme)formatMajor, fileBytes, processors), Is.EqualTo(expected));
    }
}
