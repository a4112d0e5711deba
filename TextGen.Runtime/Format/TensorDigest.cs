using System.Buffers;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace TextGen.Runtime.Format;

/// <summary>
/// Computes <c>tensor_sha256</c> while the reader is still reading. The reader adds the tensor data as soon as it has
/// checked it, cut into pieces of at most <see cref="PieceBytes"/>, and thread-pool helpers hash the pieces meanwhile,
/// so the SHA-256 work, the largest part of a load, overlaps parsing, copying and checking instead of following them.
/// When the reader has read everything it joins in and hashes what is left itself, so a load never waits for the pool.
/// <list type="bullet">
/// <item>Format 2 (<see cref="TensorDigestScheme.Pieces"/>): the digest is SHA-256 over the SHA-256 of each piece, so
/// pieces are hashed on several threads at once, in any order; on AVX-512 CPUs 16 whole pieces at a time on one
/// thread (<see cref="LaneBatch"/>).</item>
/// <item>Format 1 (<see cref="TensorDigestScheme.Stream"/>): the digest is one SHA-256 over all the data in file
/// order, so the pieces go through one hash one at a time, in order; one helper is all that can help.</item>
/// </list>
/// Either way the digest is the same bytes whichever threads did the work.
/// </summary>
internal sealed class TensorDigest : IDisposable
{
    /// <summary>
    /// Largest piece (256 KiB): in format 2 each tensor's data is cut into pieces of this size from its start, the
    /// last one shorter (docs/format.md, Checksums). Small enough that the helpers start early and hash what was just
    /// copied while it is still in the shared cache, and that the threads finish within a fraction of a millisecond of
    /// each other; large enough that the 32-byte digest and the hand-over of a piece cost nothing measurable.
    /// </summary>
    public const int PieceBytes = 256 << 10;

    /// <summary>
    /// File bytes per helper thread (1 MiB): a file gets at most one helper per MiB, and none below 1 MiB. Hashing a
    /// MiB takes under a millisecond, about what handing work to a pool thread and waiting for it can cost.
    /// </summary>
    public const int HelperThreadMinFileBytes = 1 << 20;

    /// <summary>
    /// Most helper threads one load uses (7, so 8 threads hash with the loading thread): enough to hash faster than
    /// the loading thread copies and checks, and few enough not to take over a big machine's thread pool.
    /// </summary>
    public const int MaxHelperThreads = 7;

    /// <summary>Phase name of the helpers' hashing in a <see cref="LoadProfile"/>, summed over helpers; it overlaps the loading thread's phases.</summary>
    public const string HelperPhase = "hash_tensors_on_helper_thread";

    private readonly (ReadOnlyMemory<byte> Bytes, ReadOnlyMemory<float> Floats)[] _pieces;
    private readonly bool[] _taken;            // the pieces a thread has claimed
    private readonly int _laneBatch;           // pieces one claim may take together: 1, or 16 where Sha256Lanes runs (format 2)
    private readonly byte[]? _pieceDigests;   // format 2: each piece's SHA-256, in piece order
    private readonly IncrementalHash? _stream; // format 1: the one SHA-256 over all pieces in order
    private readonly LoadProfile? _profile;
    private readonly object _gate = new();

    // Guarded by _gate.
    private int _added;        // pieces the reader has published
    private int _untaken;      // the first piece no thread has claimed: pieces are claimed in order, except in batches
    private int _takenCount;   // pieces claimed
    private bool _streamBusy;  // format 1: a thread is appending a piece to _stream, so the next must wait
    private bool _closed;      // the reader added its last piece
    private bool _abandoned;   // the read failed, or a hash did: stop
    private int _workingHelpers; // helpers that found work and have not yet left, profile recorded
    private Exception? _failure;

    /// <summary>
    /// A digest in <paramref name="scheme"/> over at most <paramref name="maxPieces"/> pieces, helped by
    /// <paramref name="helperThreads"/> pool threads; <paramref name="hashesInLanes"/> false hashes every piece with
    /// the BCL (tests compare the two).
    /// </summary>
    public TensorDigest(TensorDigestScheme scheme, int maxPieces, int helperThreads, LoadProfile? profile = null, bool hashesInLanes = true)
    {
        _profile = profile;
        _pieces = new (ReadOnlyMemory<byte>, ReadOnlyMemory<float>)[maxPieces];
        _taken = new bool[maxPieces];
        _laneBatch = scheme == TensorDigestScheme.Pieces && hashesInLanes ? LaneBatch : 1;
        if (scheme == TensorDigestScheme.Pieces) _pieceDigests = new byte[maxPieces * ModelFileSchema.Sha256Bytes];
        else _stream = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        HelperThreads = UsableHelpers(scheme, helperThreads);
        for (int i = 0; i < HelperThreads; i++) ThreadPool.QueueUserWorkItem(static digest => ((TensorDigest)digest!).Work(isHelper: true), this);
    }

    /// <summary>Pool threads asked to help; 0 when the loading thread hashes everything at <see cref="Finish"/>.</summary>
    public int HelperThreads { get; }

    /// <summary>Whole pieces this machine hashes together in format 2: 16 where the net8.0 build's Sha256Lanes runs, else 1.</summary>
    public static int LaneBatch =>
#if NET8_0_OR_GREATER
        Sha256Lanes.IsSupported ? Sha256Lanes.Lanes : 1;
#else
        1;
#endif

    /// <summary>True when this digest hashes whole pieces 16 at a time.</summary>
    public bool HashesInLanes => _laneBatch > 1;

    /// <summary>The most pieces a file of <paramref name="fileBytes"/> bytes with <paramref name="tensors"/> tensors can be cut into.</summary>
    public static int MaxPieces(int tensors, int fileBytes) => tensors + fileBytes / PieceBytes + 1;

    /// <summary>
    /// How many helpers a load of <paramref name="fileBytes"/> gets when it may use any: one per MiB of file, one fewer
    /// than the cores, at most <see cref="MaxHelperThreads"/>, and at most one for a format 1 digest.
    /// </summary>
    public static int HelperThreadsFor(TensorDigestScheme scheme, int fileBytes) => HelperThreadsFor(scheme, fileBytes, Environment.ProcessorCount);

    /// <summary>As <see cref="HelperThreadsFor(TensorDigestScheme, int)"/> on a machine of <paramref name="processors"/> cores.</summary>
    public static int HelperThreadsFor(TensorDigestScheme scheme, int fileBytes, int processors)
        => UsableHelpers(scheme, Math.Min(Math.Min(fileBytes / HelperThreadMinFileBytes, processors - 1), MaxHelperThreads));

    // A format 1 digest is one chain, hashed one piece at a time: a second helper would only wait for the first.
    private static int UsableHelpers(TensorDigestScheme scheme, int helpers)
        => scheme == TensorDigestScheme.Stream ? Math.Min(helpers, 1) : helpers;

    /// <summary>
    /// Adds one tensor's data, or the next part of it, cut into pieces of <see cref="PieceBytes"/> from
    /// <paramref name="bytes"/>' start. A tensor added in parts must be added in parts of exactly that size (the last
    /// shorter), as the reader copies them. <paramref name="floats"/>, when not empty, is the reader's checked copy of
    /// f32 <paramref name="bytes"/>: on little-endian hosts its bytes are the same, and hashing the copy makes the
    /// weights kept exactly the weights verified, whatever happens to the caller's memory meanwhile.
    /// </summary>
    public void Add(ReadOnlyMemory<byte> bytes, ReadOnlyMemory<float> floats)
    {
        bool useFloats = !floats.IsEmpty && BitConverter.IsLittleEndian;
        int length = useFloats ? floats.Length * sizeof(float) : bytes.Length;
        lock (_gate)
        {
            for (int start = 0; start < length; start += PieceBytes)
            {
                int size = Math.Min(PieceBytes, length - start);
                _pieces[_added++] = useFloats
                    ? (default, floats.Slice(start / sizeof(float), size / sizeof(float)))
                    : (bytes.Slice(start, size), default);
            }
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>The digest of every piece added, once the last one has been hashed; the calling thread hashes whatever no helper has taken.</summary>
    public byte[] Finish()
    {
        lock (_gate)
        {
            _closed = true;
            Monitor.PulseAll(_gate);
        }
        Work(isHelper: false);
        lock (_gate)
        {
            while (_workingHelpers > 0) Monitor.Wait(_gate);
        }
        if (_failure is not null) ExceptionDispatchInfo.Capture(_failure).Throw();

        if (_stream is not null) return _stream.GetHashAndReset();
        using var root = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        root.AppendData(_pieceDigests.AsSpan(0, _added * ModelFileSchema.Sha256Bytes));
        return root.GetHashAndReset();
    }

    /// <summary>Stops the helpers (the read failed, or it is over) and waits for any piece being hashed, so nothing reads the data after the read returns.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _abandoned = true;
            _closed = true;
            Monitor.PulseAll(_gate);
            while (_workingHelpers > 0) Monitor.Wait(_gate);
        }
        _stream?.Dispose();
    }

    // Hashes pieces until none is left to claim. A helper that starts after everything was claimed leaves at once;
    // one that finds work counts as working until it has recorded its time, and Finish and Dispose wait for that.
    private void Work(bool isHelper)
    {
        long start = _profile.Start();
        lock (_gate)
        {
            if (_abandoned || (_closed && _takenCount == _added)) return;
            if (isHelper) _workingHelpers++;
        }
        IncrementalHash? pieceHash = null;
        Span<int> claimed = stackalloc int[_laneBatch];
        try
        {
            int count;
            while ((count = Claim(claimed)) > 0)
            {
                try
                {
                    if (count == 1) HashOne(claimed[0], ref pieceHash);
                    else HashInLanes(claimed.Slice(0, count));
                }
                catch (Exception e)
                {
                    lock (_gate)
                    {
                        _failure ??= e;
                        _abandoned = true;
                    }
                }
                finally
                {
                    lock (_gate)
                    {
                        _streamBusy = false;
                        Monitor.PulseAll(_gate);
                    }
                }
            }
        }
        finally
        {
            pieceHash?.Dispose();
            if (isHelper)
            {
                _profile.Lap(HelperPhase, start);
                lock (_gate)
                {
                    _workingHelpers--;
                    Monitor.PulseAll(_gate);
                }
            }
        }
    }

    private void HashOne(int index, ref IncrementalHash? pieceHash)
    {
        var (bytes, floats) = _pieces[index];
        ReadOnlySpan<byte> data = floats.IsEmpty ? bytes.Span : MemoryMarshal.AsBytes(floats.Span);
        if (_stream is not null)
        {
            _stream.AppendData(data);
            return;
        }
        pieceHash ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        pieceHash.AppendData(data);
        pieceHash.TryGetHashAndReset(_pieceDigests.AsSpan(index * ModelFileSchema.Sha256Bytes, ModelFileSchema.Sha256Bytes), out _);
    }

    private void HashInLanes(ReadOnlySpan<int> indices)
    {
#if NET8_0_OR_GREATER
        var pins = new MemoryHandle[indices.Length];
        Span<byte> digests = stackalloc byte[Sha256Lanes.Lanes * ModelFileSchema.Sha256Bytes];
        try
        {
            for (int i = 0; i < indices.Length; i++)
            {
                var (bytes, floats) = _pieces[indices[i]];
                pins[i] = floats.IsEmpty ? bytes.Pin() : floats.Pin();
            }
            Sha256Lanes.Hash(pins, PieceBytes, digests);
        }
        finally
        {
            foreach (var pin in pins) pin.Dispose();
        }
        for (int i = 0; i < indices.Length; i++)
            digests.Slice(i * ModelFileSchema.Sha256Bytes, ModelFileSchema.Sha256Bytes).CopyTo(_pieceDigests.AsSpan(indices[i] * ModelFileSchema.Sha256Bytes));
#else
        throw new PlatformNotSupportedException("lane batches need the net8.0 build");
#endif
    }

    /// <summary>
    /// Claims the next work into <paramref name="claimed"/>, waiting until the reader has added some: one piece, or in
    /// lanes 16 whole ones. Returns how many; 0 when none is left or the digest was abandoned.
    /// </summary>
    private int Claim(Span<int> claimed)
    {
        lock (_gate)
        {
            while (true)
            {
                if (_abandoned) return 0;
                int count = _laneBatch > 1 ? ClaimInLanes(claimed) : ClaimInOrder(claimed);
                if (count > 0)
                {
                    foreach (int index in claimed.Slice(0, count)) _taken[index] = true;
                    _takenCount += count;
                    while (_untaken < _added && _taken[_untaken]) _untaken++;
                    return count;
                }
                if (_closed && _takenCount == _added) return 0;
                Monitor.Wait(_gate);
            }
        }
    }

    // The first piece not taken, unless format 1's chain is busy with the one before it.
    private int ClaimInOrder(Span<int> claimed)
    {
        if (_untaken == _added || _streamBusy) return 0;
        _streamBusy = _stream is not null;
        claimed[0] = _untaken;
        return 1;
    }

    // Sixteen whole pieces when there are; else a short piece (a tensor's last); else, once the reader is done, one of
    // the whole pieces left. Otherwise nothing yet. The last ones go one at a time: a batch costs the same whatever
    // number of its lanes are in use, as much as about eight pieces hashed alone (1.9× the per-byte speed, over 16),
    // and one thread's batch would keep the load waiting while the others, which can share single pieces, sit idle.
    private int ClaimInLanes(Span<int> claimed)
    {
        int whole = 0, shortPiece = -1;
        for (int i = _untaken; i < _added && whole < claimed.Length; i++)
        {
            if (_taken[i]) continue;
            if (PieceLength(i) == PieceBytes) claimed[whole++] = i;
            else if (shortPiece < 0) shortPiece = i;
        }
        if (whole == claimed.Length) return whole;
        if (shortPiece >= 0)
        {
            claimed[0] = shortPiece;
            return 1;
        }
        return _closed ? Math.Min(whole, 1) : 0;
    }

    private int PieceLength(int index)
    {
        var (bytes, floats) = _pieces[index];
        return floats.IsEmpty ? bytes.Length : floats.Length * sizeof(float);
    }
}
