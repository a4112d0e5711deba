using System.Runtime.Intrinsics.X86;
using System.Security.Cryptography;
using TextGen.Runtime.Format;

namespace TextGen.Tests.Format;

/// <summary>
/// <see cref="Sha256Lanes"/> against the BCL's SHA-256: every lane's digest, for lengths that exercise no data
/// (padding only), one block, many blocks and a whole <see cref="TensorDigest.PieceBytes"/> piece, with 1 to 16 inputs.
/// </summary>
public sealed class Sha256LanesTests
{
    [Test]
    public void RunsWhereTheCpuHasAvx512()
    {
        Assert.That(Sha256Lanes.IsSupported, Is.EqualTo(Avx512F.IsSupported && Avx512BW.IsSupported));
        Assert.That(TensorDigest.LaneBatch, Is.EqualTo(Sha256Lanes.IsSupported ? Sha256Lanes.Lanes : 1));
    }

    [TestCase(0, 16)]
    [TestCase(64, 16)]
    [TestCase(128, 3)]
    [TestCase(64 * 37, 16)]
    [TestCase(64 * 37, 1)]
    [TestCase(64 * 37, 9)]
    [TestCase(TensorDigest.PieceBytes, 16)]
    public void EveryLaneIsTheBclsDigest(int length, int inputs)
    {
        var random = new Random(length + inputs);
        // Each input sits at its own offset inside a longer array, with bytes past its end that must not be hashed.
        var arrays = Enumerable.Range(0, inputs).Select(_ => { var a = new byte[length + 200]; random.NextBytes(a); return a; }).ToArray();
        var memories = arrays.Select((a, i) => (ReadOnlyMemory<byte>)a.AsMemory(i * 7 % 100, length)).ToArray();
        var digests = new byte[inputs * 32];
        if (RefusedWithoutAvx512(memories, length, digests)) return;

        HashPinned(memories, length, digests);

        for (int i = 0; i < inputs; i++)
            Assert.That(digests.AsSpan(32 * i, 32).ToArray(), Is.EqualTo(SHA256.HashData(memories[i].Span)), $"input {i} of {inputs}, {length} bytes");
    }

    [Test]
    public void TheKnownAnswerForABlockOfZeros()
    {
        // SHA-256 of 64 zero bytes (FIPS 180-4's algorithm; the value every implementation gives).
        byte[] expected = Convert.FromHexString("f5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a92759fb4b");
        var digests = new byte[16 * 32];
        var zeros = Enumerable.Repeat((ReadOnlyMemory<byte>)new byte[64], 16).ToArray();
        Assert.That(SHA256.HashData(new byte[64]), Is.EqualTo(expected));
        if (RefusedWithoutAvx512(zeros, 64, digests)) return;

        HashPinned(zeros, 64, digests);

        Assert.That(digests.Chunk(32), Is.All.EqualTo(expected));
    }

    [Test]
    public void LengthsThatAreNotWholeBlocksAndTooManyInputsAreRefused()
    {
        if (RefusedWithoutAvx512([(ReadOnlyMemory<byte>)new byte[64]], 64, new byte[32])) return;
        Assert.Throws<ArgumentOutOfRangeException>(() => HashPinned([(ReadOnlyMemory<byte>)new byte[100]], 100, new byte[32]));
        Assert.Throws<ArgumentOutOfRangeException>(() => HashPinned([(ReadOnlyMemory<byte>)new byte[128]], -64, new byte[32]));
        Assert.Throws<ArgumentOutOfRangeException>(() => HashPinned(Enumerable.Repeat((ReadOnlyMemory<byte>)new byte[64], 17), 64, new byte[17 * 32]));
        Assert.Throws<ArgumentException>(() => HashPinned([(ReadOnlyMemory<byte>)new byte[64], new byte[64]], 64, new byte[32]));
    }

    // Without AVX-512 the lanes refuse to run, which is all there is to check on such a CPU.
    private static bool RefusedWithoutAvx512(IEnumerable<ReadOnlyMemory<byte>> inputs, int length, byte[] digests)
    {
        if (Sha256Lanes.IsSupported) return false;
        Assert.Throws<PlatformNotSupportedException>(() => HashPinned(inputs, length, digests));
        return true;
    }

    private static void HashPinned(IEnumerable<ReadOnlyMemory<byte>> inputs, int length, byte[] digests)
    {
        var pins = inputs.Select(m => m.Pin()).ToArray();
        try
        {
            Sha256Lanes.Hash(pins, length, digests);
        }
        finally
        {
            foreach (var pin in pins) pin.Dispose();
        }
    }
}
