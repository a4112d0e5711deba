using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace TextGen.Runtime.Format;

/// <summary>
/// Computes <c>tensor_sha256</c> while the reader is still reading. The reader adds the tensor data part by part as
/// soon as it has checked it (a large tensor in parts of <see cref="PartBytes"/>, so hashing starts after the first
/// quarter megabyte, not after the first whole matrix), and one thread-pool thread hashes the parts in file order
/// meanwhile, so the SHA-256 pass, the largest part of a load, overlaps parsing, copying and checking instead of
/// following them. At most one helper
/// thread ever works for a digest; if none has started by the time the reader finishes (a busy pool, or no helper
/// asked for), the reader hashes what is left itself, so a load never waits for the pool. The digest is the same
/// bytes either way: SHA-256 over the data in file order.
/// </summary>
internal sealed class TensorDigest : IDisposable
{
    /// <summary>
    /// Smallest file worth a helper thread (1 MiB). Below it hashing takes well under a millisecond, less than handing
    /// the work to another thread and waiting for it.
    /// </summary>
    public const int HelperThreadMinFileBytes = 1 << 20;

    /// <summary>
    /// Largest part the reader adds at once (256 KiB): small enough that the helper starts early and hashes what was
    /// just copied while it is still in the shared cache, large enough that handing parts over costs nothing measurable.
    /// Also the slice hashed between checks for an abandoned read, so a refused file stops its helper quickly.
    /// </summary>
    public const int PartBytes = 256 << 10;

    private readonly (ReadOnlyMemory<byte> Bytes, ReadOnlyMemory<float> Floats)[] _parts;
    private readonly SemaphoreSlim? _partAdded;      // wakes a waiting helper; null without one
    private readonly ManualResetEventSlim? _finished; // set when the helper is done; null without one
    private int _added;           // parts the reader has published; written by the reader only
    private volatile bool _closed; // the reader added its last part
    private volatile bool _abandoned; // the reader refused the file: stop hashing
    private int _claimed;         // 1 once a thread owns the hashing
    private byte[]? _digest;
    private Exception? _failure;
    private readonly LoadProfile? _profile;

    /// <summary>Phase name of the helper thread's hashing in a <see cref="LoadProfile"/>; it overlaps the loading thread's phases.</summary>
    public const string HelperPhase = "hash_tensors_on_helper_thread";

    /// <summary>A digest over at most <paramref name="parts"/> parts, hashed on a thread-pool thread when <paramref name="useHelperThread"/>.</summary>
    public TensorDigest(int parts, bool useHelperThread, LoadProfile? profile = null)
    {
        _profile = profile;
        _parts = new (ReadOnlyMemory<byte>, ReadOnlyMemory<float>)[parts];
        if (!useHelperThread) return;
        _partAdded = new SemaphoreSlim(0);
        _finished = new ManualResetEventSlim(false);
        ThreadPool.QueueUserWorkItem(static digest => ((TensorDigest)digest!).Hash(), this);
    }

    /// <summary>True when a helper thread was asked for.</summary>
    public bool HasHelper => _finished is not null;

    /// <summary>The most parts a file of <paramref name="fileBytes"/> bytes with <paramref name="tensors"/> tensors can be added in.</summary>
    public static int MaxParts(int tensors, int fileBytes) => tensors + fileBytes / PartBytes + 1;

    /// <summary>
    /// Adds the next part of the tensor data. <paramref name="floats"/>, when not empty, is the reader's checked copy
    /// of f32 <paramref name="bytes"/>: on little-endian hosts its bytes are the same, and hashing the copy makes the
    /// weights kept exactly the weights verified, whatever happens to the caller's memory meanwhile.
    /// </summary>
    public void Add(ReadOnlyMemory<byte> bytes, ReadOnlyMemory<float> floats)
    {
        _parts[_added] = (bytes, floats);
        Volatile.Write(ref _added, _added + 1);
        _partAdded?.Release();
    }

    /// <summary>The SHA-256 of every part added, once the last one has been hashed.</summary>
    public byte[] Finish()
    {
        _closed = true;
        _partAdded?.Release();
        if (Interlocked.Exchange(ref _claimed, 1) == 0) Hash(claimed: true);
        else _finished!.Wait();
        if (_failure is not null) ExceptionDispatchInfo.Capture(_failure).Throw();
        return _digest!;
    }

    /// <summary>Stops a helper that is still hashing (the read failed) and waits for it, so nothing reads the data after the read returns.</summary>
    public void Dispose()
    {
        _abandoned = true;
        _closed = true;
        _partAdded?.Release();
        if (Interlocked.Exchange(ref _claimed, 1) != 0) _finished?.Wait();
        _partAdded?.Dispose();
        _finished?.Dispose();
    }

    private void Hash(bool claimed = false)
    {
        if (!claimed && Interlocked.Exchange(ref _claimed, 1) != 0) return;
        long start = _profile.Start();
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            int next = 0;
            while (!_abandoned)
            {
                if (next < Volatile.Read(ref _added))
                {
                    Append(hash, _parts[next++]);
                }
                else if (_closed)
                {
                    // Everything was added before the reader closed, so this count is final.
                    if (next < Volatile.Read(ref _added)) continue;
                    _digest = hash.GetHashAndReset();
                    break;
                }
                else
                {
                    _partAdded!.Wait();
                }
            }
        }
        catch (Exception e)
        {
            _failure = e;
        }
        finally
        {
            if (!claimed) _profile.Lap(HelperPhase, start);
            _finished?.Set();
        }
    }

    private void Append(IncrementalHash hash, (ReadOnlyMemory<byte> Bytes, ReadOnlyMemory<float> Floats) part)
    {
        ReadOnlySpan<byte> data = !part.Floats.IsEmpty && BitConverter.IsLittleEndian ? MemoryMarshal.AsBytes(part.Floats.Span) : part.Bytes.Span;
        for (int start = 0; start < data.Length && !_abandoned; start += PartBytes)
        {
            hash.AppendData(data.Slice(start, Math.Min(PartBytes, data.Length - start)));
        }
    }
}
