using System.Buffers;
using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using TextGen.Runtime.Format;

namespace TextGen.Benchmarks.Suite;

/// <summary>
/// The load's largest cost: SHA-256 of 16 format 2 pieces (<see cref="TensorDigest.PieceBytes"/> each, 4 MiB in all,
/// about a third of the shipped model), one at a time with the BCL against 16 at once in AVX-512 lanes
/// (<see cref="Sha256Lanes"/>). Bytes per second are 4 MiB over the mean.
/// </summary>
// BenchmarkDotNet needs public, unsealed benchmark classes.
public class DigestBenchmarks
{
    private readonly byte[][] _pieces = new byte[Sha256Lanes.Lanes][];
    private readonly byte[] _digests = new byte[Sha256Lanes.Lanes * 32];
    private MemoryHandle[] _pins = [];

    /// <summary>Random pieces, pinned for the lanes.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        for (int i = 0; i < _pieces.Length; i++)
        {
            _pieces[i] = new byte[TensorDigest.PieceBytes];
            random.NextBytes(_pieces[i]);
        }
        _pins = _pieces.Select(p => new ReadOnlyMemory<byte>(p).Pin()).ToArray();
    }

    /// <summary>Each piece through <see cref="SHA256.HashData(ReadOnlySpan{byte}, Span{byte})"/> (OpenSSL on Linux), as a CPU without AVX-512 hashes them.</summary>
    [Benchmark(Baseline = true)]
    public byte[] OneAtATime()
    {
        for (int i = 0; i < _pieces.Length; i++) SHA256.HashData(_pieces[i], _digests.AsSpan(32 * i, 32));
        return _digests;
    }

    /// <summary>All 16 in one pass of <see cref="Sha256Lanes"/> (AVX-512 only: elsewhere it throws, and the run says so).</summary>
    [Benchmark]
    public byte[] SixteenLanes()
    {
        Sha256Lanes.Hash(_pins, TensorDigest.PieceBytes, _digests);
        return _digests;
    }

    /// <summary>Unpins the pieces.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var pin in _pins) pin.Dispose();
    }
}
