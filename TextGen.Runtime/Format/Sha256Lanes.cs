#if NET8_0_OR_GREATER
using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TextGen.Runtime.Format;

/// <summary>
/// SHA-256 (FIPS 180-4) of up to 16 inputs of the same length at once, one input per 32-bit lane of AVX-512 vectors,
/// for <see cref="TensorDigest"/>'s format 2 pieces, which are independent inputs of 256 KiB each.
/// <para>Why not only the BCL: a load must hash the whole file (13.3 MB for the shipped model), and one SHA-256 chain
/// is sequential. With the SHA extensions this Xeon hashes 1.1–1.3 GB/s per core (the BCL calls OpenSSL), about 10 ms
/// for the shipped model: most of the load's CPU time, which the 10 ms target cannot afford. Sixteen chains side by
/// side need no SHA instruction, only 32-bit rotates, adds and three-input logic (vprord, vpaddd, vpternlogd): 16 pieces
/// took 1.69 ms against the BCL's 3.26 ms one after the other, 1.9× its speed (<c>suite --filter '*Digest*'</c>,
/// docs/performance.md, "Load time").</para>
/// <para>The digests are the BCL's, bit for bit (the tests compare them on every length they use); a lane whose input
/// repeats another's costs nothing extra, which is how fewer than 16 inputs are hashed.</para>
/// </summary>
internal static unsafe class Sha256Lanes
{
    /// <summary>Inputs hashed at once: the lanes of a 512-bit vector of 32-bit words.</summary>
    public const int Lanes = 16;

    /// <summary>Bytes of one SHA-256 block, the unit of an input's length here.</summary>
    public const int BlockBytes = 64;

    /// <summary>True where the CPU runs the 512-bit rotates, byte shuffles and three-input logic this needs.</summary>
    public static bool IsSupported => Avx512F.IsSupported && Avx512BW.IsSupported;

    private static readonly uint[] RoundConstants =
    {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    };

    private static readonly uint[] InitialState = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };

    /// <summary>
    /// Writes the SHA-256 of each of <paramref name="inputs"/> (1 to 16 pinned inputs, each at least
    /// <paramref name="length"/> bytes; a multiple of <see cref="BlockBytes"/>) over its first <paramref name="length"/>
    /// bytes to <paramref name="digests"/>, 32 bytes each, in order. A handle carries no length, so that one is the
    /// caller's to keep: <see cref="TensorDigest"/> passes only whole pieces of <see cref="TensorDigest.PieceBytes"/>.
    /// </summary>
    public static void Hash(ReadOnlySpan<MemoryHandle> inputs, int length, Span<byte> digests)
    {
        if (!IsSupported) throw new PlatformNotSupportedException("16-lane SHA-256 needs AVX-512F and AVX-512BW");
        if (inputs.Length is < 1 or > Lanes) throw new ArgumentOutOfRangeException(nameof(inputs), inputs.Length, "1 to 16 inputs");
        if (length < 0 || length % BlockBytes != 0) throw new ArgumentOutOfRangeException(nameof(length), length, $"a whole number of {BlockBytes}-byte blocks");
        if (digests.Length < inputs.Length * 32) throw new ArgumentException("too short for the digests", nameof(digests));
        byte** starts = stackalloc byte*[Lanes];
        for (int lane = 0; lane < Lanes; lane++) starts[lane] = (byte*)inputs[Math.Min(lane, inputs.Length - 1)].Pointer;
        HashLanes(starts, length, digests.Slice(0, inputs.Length * 32));
    }

    /// <summary>The 16 chains over <paramref name="length"/> bytes from each of <paramref name="starts"/>, then the padding block they share.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // a load's first call must not run unoptimized vector code: that hashed at 0.13 GB/s
    private static void HashLanes(byte** starts, int length, Span<byte> digests)
    {
        Vector512<uint>* state = stackalloc Vector512<uint>[8];
        Vector512<uint>* schedule = stackalloc Vector512<uint>[16];
        Vector512<uint>* rows = stackalloc Vector512<uint>[Lanes];
        for (int i = 0; i < 8; i++) state[i] = Vector512.Create(InitialState[i]);
        for (int offset = 0; offset < length; offset += BlockBytes)
        {
            LoadBlock(starts, offset, rows, schedule);
            Compress(state, schedule);
        }
        // Every input has the same length, so the same padding: a 1 bit, zeros, and the length in bits, big-endian.
        for (int t = 0; t < 16; t++) schedule[t] = Vector512<uint>.Zero;
        ulong bits = (ulong)length * 8;
        schedule[0] = Vector512.Create(0x80000000u);
        schedule[14] = Vector512.Create((uint)(bits >> 32));
        schedule[15] = Vector512.Create((uint)bits);
        Compress(state, schedule);

        for (int lane = 0; lane < digests.Length / 32; lane++)
        for (int i = 0; i < 8; i++)
            BinaryPrimitives.WriteUInt32BigEndian(digests.Slice(32 * lane + 4 * i, 4), state[i].GetElement(lane));
    }

    /// <summary>
    /// Block <paramref name="offset"/> of every lane as 16 words across lanes: word t of lane j in element j of
    /// <paramref name="words"/>[t]. One 64-byte load per lane into <paramref name="rows"/>, its bytes swapped to
    /// big-endian words, then a 16×16 transpose in four steps of two-input shuffles (32-bit, 64-bit and twice 128-bit),
    /// 64 in all.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LoadBlock(byte** starts, int offset, Vector512<uint>* rows, Vector512<uint>* words)
    {
        Vector512<byte> bigEndian = Vector512.Create((byte)3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
        for (int lane = 0; lane < Lanes; lane++) rows[lane] = Avx512BW.Shuffle(Vector512.Load(starts[lane] + offset), bigEndian).AsUInt32();

        // After the 32- and 64-bit steps, group g (lanes 4g..4g+3) holds in rows[4g + m], in each 128-bit quarter q,
        // word 4q + m of its four lanes.
        for (int g = 0; g < 4; g++)
        {
            Vector512<uint> r0 = rows[4 * g], r1 = rows[4 * g + 1], r2 = rows[4 * g + 2], r3 = rows[4 * g + 3];
            Vector512<ulong> low01 = Avx512F.UnpackLow(r0, r1).AsUInt64(), high01 = Avx512F.UnpackHigh(r0, r1).AsUInt64();
            Vector512<ulong> low23 = Avx512F.UnpackLow(r2, r3).AsUInt64(), high23 = Avx512F.UnpackHigh(r2, r3).AsUInt64();
            rows[4 * g] = Avx512F.UnpackLow(low01, low23).AsUInt32();
            rows[4 * g + 1] = Avx512F.UnpackHigh(low01, low23).AsUInt32();
            rows[4 * g + 2] = Avx512F.UnpackLow(high01, high23).AsUInt32();
            rows[4 * g + 3] = Avx512F.UnpackHigh(high01, high23).AsUInt32();
        }
        // The 128-bit steps gather quarter q of the four groups into word 4q + m.
        for (int m = 0; m < 4; m++)
        {
            Vector512<uint> g0 = rows[m], g1 = rows[4 + m], g2 = rows[8 + m], g3 = rows[12 + m];
            Vector512<uint> low01 = Avx512F.Shuffle4x128(g0, g1, 0b01_00_01_00), high01 = Avx512F.Shuffle4x128(g0, g1, 0b11_10_11_10);
            Vector512<uint> low23 = Avx512F.Shuffle4x128(g2, g3, 0b01_00_01_00), high23 = Avx512F.Shuffle4x128(g2, g3, 0b11_10_11_10);
            words[m] = Avx512F.Shuffle4x128(low01, low23, 0b10_00_10_00);
            words[4 + m] = Avx512F.Shuffle4x128(low01, low23, 0b11_01_11_01);
            words[8 + m] = Avx512F.Shuffle4x128(high01, high23, 0b10_00_10_00);
            words[12 + m] = Avx512F.Shuffle4x128(high01, high23, 0b11_01_11_01);
        }
    }

    /// <summary>
    /// The 64 rounds over one block, the message schedule computed in place in <paramref name="schedule"/>'s 16 words
    /// as the rounds need them, as FIPS 180-4 §6.2.2 writes it for one chain.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Compress(Vector512<uint>* state, Vector512<uint>* schedule)
    {
        Vector512<uint> a = state[0], b = state[1], c = state[2], d = state[3], e = state[4], f = state[5], g = state[6], h = state[7];
        fixed (uint* k = RoundConstants)
        {
            for (int t = 0; t < 64; t++)
            {
                Vector512<uint> w;
                if (t < 16)
                {
                    w = schedule[t];
                }
                else
                {
                    Vector512<uint> w15 = schedule[(t - 15) & 15], w2 = schedule[(t - 2) & 15];
                    Vector512<uint> sigma0 = Xor(Avx512F.RotateRight(w15, 7), Avx512F.RotateRight(w15, 18), Vector512.ShiftRightLogical(w15, 3));
                    Vector512<uint> sigma1 = Xor(Avx512F.RotateRight(w2, 17), Avx512F.RotateRight(w2, 19), Vector512.ShiftRightLogical(w2, 10));
                    w = schedule[t & 15] += sigma0 + schedule[(t - 7) & 15] + sigma1;
                }
                Vector512<uint> t1 = h + Xor(Avx512F.RotateRight(e, 6), Avx512F.RotateRight(e, 11), Avx512F.RotateRight(e, 25)) + Choose(e, f, g) + (Vector512.Create(k[t]) + w);
                Vector512<uint> t2 = Xor(Avx512F.RotateRight(a, 2), Avx512F.RotateRight(a, 13), Avx512F.RotateRight(a, 22)) + Majority(a, b, c);
                h = g;
                g = f;
                f = e;
                e = d + t1;
                d = c;
                c = b;
                b = a;
                a = t1 + t2;
            }
        }
        state[0] += a;
        state[1] += b;
        state[2] += c;
        state[3] += d;
        state[4] += e;
        state[5] += f;
        state[6] += g;
        state[7] += h;
    }

    // vpternlogd's table is indexed by (x << 2) | (y << 1) | z.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> Xor(Vector512<uint> x, Vector512<uint> y, Vector512<uint> z) => Avx512F.TernaryLogic(x, y, z, 0x96);

    /// <summary>Ch: y where x is 1, z where it is 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> Choose(Vector512<uint> x, Vector512<uint> y, Vector512<uint> z) => Avx512F.TernaryLogic(x, y, z, 0xCA);

    /// <summary>Maj: the bit at least two of x, y, z have.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> Majority(Vector512<uint> x, Vector512<uint> y, Vector512<uint> z) => Avx512F.TernaryLogic(x, y, z, 0xE8);
}
#endif
