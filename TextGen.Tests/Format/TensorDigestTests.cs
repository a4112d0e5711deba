using System.Runtime.InteropServices;
using System.Security.Cryptography;
using TextGen.Runtime.Format;

namespace TextGen.Tests.Format;

/// <summary><see cref="TensorDigest"/>, with and without its helper thread, against SHA-256 of the concatenated parts.</summary>
public sealed class TensorDigestTests
{
    // Empty, tiny, odd-sized and longer than the 1 MiB hashing slice; some given as decoded floats too.
    private static (byte[] Bytes, float[]? Floats)[] Parts()
    {
        var random = new Random(5);
        return new[] { 0, 3, 4096, 1 << 20, (1 << 20) + 12, 40 }.Select((length, i) =>
        {
            var floats = new float[length / 4];
            for (int k = 0; k < floats.Length; k++) floats[k] = (float)(random.NextDouble() - 0.5);
            byte[] bytes = new byte[length];
            random.NextBytes(bytes);
            if (i % 2 == 0) MemoryMarshal.AsBytes(floats.AsSpan()).CopyTo(bytes);
            return (bytes, i % 2 == 0 && length % 4 == 0 ? floats : null);
        }).ToArray();
    }

    [TestCase(false)]
    [TestCase(true)]
    public void TheDigestIsTheSha256OfThePartsInOrder(bool useHelperThread)
    {
        var parts = Parts();
        byte[] expected = SHA256.HashData(parts.SelectMany(p => p.Bytes).ToArray());

        using var digest = new TensorDigest(parts.Length, useHelperThread);
        foreach (var (bytes, floats) in parts) digest.Add(bytes, floats);

        Assert.That(digest.HasHelper, Is.EqualTo(useHelperThread));
        Assert.That(digest.Finish(), Is.EqualTo(expected));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void ATensorAddedInPartsHashesLikeTheWholeTensor(bool useHelperThread)
    {
        // As the reader adds a large f32 tensor: its bytes and its checked copy, one part of PartBytes at a time.
        var random = new Random(9);
        var floats = new float[(5 * TensorDigest.PartBytes + 44) / sizeof(float)];
        for (int k = 0; k < floats.Length; k++) floats[k] = (float)(random.NextDouble() - 0.5);
        byte[] bytes = MemoryMarshal.AsBytes(floats.AsSpan()).ToArray();
        byte[] expected = SHA256.HashData(bytes);

        using var digest = new TensorDigest(TensorDigest.MaxParts(1, bytes.Length), useHelperThread);
        for (int start = 0; start < bytes.Length; start += TensorDigest.PartBytes)
        {
            int length = Math.Min(TensorDigest.PartBytes, bytes.Length - start);
            digest.Add(bytes.AsMemory(start, length), floats.AsMemory(start / sizeof(float), length / sizeof(float)));
        }

        Assert.That(digest.Finish(), Is.EqualTo(expected));
    }

    [Test]
    public void ManyDigestsAtOnceAllAgree()
    {
        var parts = Parts();
        byte[] expected = SHA256.HashData(parts.SelectMany(p => p.Bytes).ToArray());

        var digests = Enumerable.Range(0, 16).Select(i => Task.Run(() =>
        {
            using var digest = new TensorDigest(parts.Length, useHelperThread: i % 4 != 0);
            foreach (var (bytes, floats) in parts) digest.Add(bytes, floats);
            return digest.Finish();
        })).ToArray();
        Task.WaitAll(digests);

        Assert.That(digests.Select(d => d.Result), Is.All.EqualTo(expected));
    }

    [TestCase(0)]
    [TestCase(3)]
    public void AnAbandonedDigestStopsWithoutAFinish(int added)
    {
        var parts = Parts();
        var digest = new TensorDigest(parts.Length, useHelperThread: true);
        foreach (var (bytes, floats) in parts.Take(added)) digest.Add(bytes, floats);

        Assert.DoesNotThrow(digest.Dispose); // it would hang instead, were the helper left waiting for parts
    }
}
