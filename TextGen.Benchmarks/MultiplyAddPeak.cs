using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TextGen.Runtime.Kernels;

namespace TextGen.Benchmarks;

/// <summary>
/// Single-threaded float (and int8) multiply-add throughput, measured: the ceiling of a batch that is bound by arithmetic. The
/// nominal figure (clock × FMA units × lanes) takes the clock Linux reports, which on this project's measuring machine
/// is the base clock: the measured peak there was 1.27× the nominal one, because the core runs above it. The chains
/// are as wide as the widest multiply-add the Runtime's kernels use here: 512 bits with AVX-512, else 256 with FMA.
/// </summary>
internal static class MultiplyAddPeak
{
    // Twelve independent chains: a multiply-add's latency is about four cycles and two units issue one each per cycle,
    // so eight chains only just cover it and twelve leave slack.
    private const int Chains = 12;
    private const int StepsPerCheck = 1 << 20;

    /// <summary>Floats per multiply-add instruction on the widest path this machine accelerates.</summary>
    public static int Lanes { get; } = Wide512 ? Vector512<float>.Count : Fma.IsSupported ? Vector256<float>.Count : Vector<float>.Count;

    private static bool Wide512 => KernelMode.BestPath == KernelPath.Vector512 && Avx512F.IsSupported;

    /// <summary>Byte multiply-adds per chain step of <see cref="MeasureInt8"/>: the q8 kernels' widest vector here.</summary>
    public static int Int8Lanes { get; } = Int8Wide512 ? Vector512<byte>.Count : Avx2.IsSupported ? Vector256<byte>.Count : Vector<short>.Count;

    /// <summary>
    /// Int8 multiply-adds per cycle and multiply unit, nominally: x64 runs two instructions (vpmaddubsw, vpmaddwd) per
    /// <see cref="Int8Lanes"/> bytes, the portable kernels one 16-bit multiply per lane.
    /// </summary>
    public static int Int8NominalLanes { get; } = Int8Wide512 || Avx2.IsSupported ? Int8Lanes / 2 : Int8Lanes;

    private static bool Int8Wide512 => KernelMode.BestPath == KernelPath.Vector512 && Avx512BW.IsSupported;

    /// <summary>Float multiply-adds per second over at least <paramref name="minimumSeconds"/>, the best of five parts.</summary>
    public static double Measure(double minimumSeconds)
        => Rate(minimumSeconds, Lanes, () =>
        {
            // Every chain computes 1 · 1 + 0 and so stays 1: the check keeps the loop from being dropped.
            float sum = Wide512 ? Chains512(StepsPerCheck, 1f, 0f) : Fma.IsSupported ? Chains256(StepsPerCheck, 1f, 0f) : ChainsPortable(StepsPerCheck, 1f, 0f);
            if (sum != Chains * Lanes) throw new InvalidOperationException($"multiply-add chains summed to {sum}");
        });

    /// <summary>
    /// Int8 multiply-adds per second, the ceiling of a q8 batch, as <see cref="Measure"/> measures floats. The chains are
    /// the q8 kernels' own step: vpmaddubsw (byte products summed in pairs), vpmaddwd against ones, vpaddd, at 512 bits
    /// where the q8 kernels use AVX-512BW, else at 256 with AVX2; without either, the portable kernels' multiply of bytes
    /// widened to 16 bits. On the Zen 3 of docs/performance.md it ran 1.6–1.8 times as many multiply-adds as the floats.
    /// </summary>
    public static double MeasureInt8(double minimumSeconds)
        => Rate(minimumSeconds, Int8Lanes, () =>
        {
            // Each chain multiplies its own bytes (0) by weights of 1 and so stays 0, which keeps the JIT from hoisting the
            // multiplies out of the loop and the check from dropping it. A step then waits on the one before (a kernel's
            // multiplies do not), but twelve chains cover that latency.
            long sum = Int8Wide512 ? Int8Chains512(StepsPerCheck, 1) : Avx2.IsSupported ? Int8Chains256(StepsPerCheck, 1) : Int8ChainsPortable(StepsPerCheck, 1);
            if (sum != 0) throw new InvalidOperationException($"int8 multiply-add chains summed to {sum}");
        });

    // The best of five parts of `runChains` (StepsPerCheck steps of every chain per call), in multiply-adds per second.
    private static double Rate(double minimumSeconds, int lanes, Action runChains)
    {
        double best = 0;
        for (int part = 0; part < 5; part++)
        {
            long steps = 0;
            long start = Stopwatch.GetTimestamp();
            double seconds;
            do
            {
                runChains();
                steps += StepsPerCheck;
                seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            }
            while (seconds < minimumSeconds / 5);
            best = Math.Max(best, steps * (double)Chains * lanes / seconds);
        }
        return best;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Chains256(long steps, float factor, float addend)
    {
        Vector256<float> m = Vector256.Create(factor), c = Vector256.Create(addend), a0 = Vector256<float>.One;
        Vector256<float> a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < steps; i++)
        {
            a0 = Fma.MultiplyAdd(a0, m, c); a1 = Fma.MultiplyAdd(a1, m, c); a2 = Fma.MultiplyAdd(a2, m, c); a3 = Fma.MultiplyAdd(a3, m, c);
            a4 = Fma.MultiplyAdd(a4, m, c); a5 = Fma.MultiplyAdd(a5, m, c); a6 = Fma.MultiplyAdd(a6, m, c); a7 = Fma.MultiplyAdd(a7, m, c);
            a8 = Fma.MultiplyAdd(a8, m, c); a9 = Fma.MultiplyAdd(a9, m, c); a10 = Fma.MultiplyAdd(a10, m, c); a11 = Fma.MultiplyAdd(a11, m, c);
        }
        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Chains512(long steps, float factor, float addend)
    {
        Vector512<float> m = Vector512.Create(factor), c = Vector512.Create(addend), a0 = Vector512<float>.One;
        Vector512<float> a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < steps; i++)
        {
            a0 = Avx512F.FusedMultiplyAdd(a0, m, c); a1 = Avx512F.FusedMultiplyAdd(a1, m, c); a2 = Avx512F.FusedMultiplyAdd(a2, m, c); a3 = Avx512F.FusedMultiplyAdd(a3, m, c);
            a4 = Avx512F.FusedMultiplyAdd(a4, m, c); a5 = Avx512F.FusedMultiplyAdd(a5, m, c); a6 = Avx512F.FusedMultiplyAdd(a6, m, c); a7 = Avx512F.FusedMultiplyAdd(a7, m, c);
            a8 = Avx512F.FusedMultiplyAdd(a8, m, c); a9 = Avx512F.FusedMultiplyAdd(a9, m, c); a10 = Avx512F.FusedMultiplyAdd(a10, m, c); a11 = Avx512F.FusedMultiplyAdd(a11, m, c);
        }
        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    // Without FMA a multiply-add is a multiply and an add, as the Runtime's portable kernels compute it.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float ChainsPortable(long steps, float factor, float addend)
    {
        Vector<float> m = new(factor), c = new(addend), a0 = Vector<float>.One;
        Vector<float> a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < steps; i++)
        {
            a0 = a0 * m + c; a1 = a1 * m + c; a2 = a2 * m + c; a3 = a3 * m + c; a4 = a4 * m + c; a5 = a5 * m + c;
            a6 = a6 * m + c; a7 = a7 * m + c; a8 = a8 * m + c; a9 = a9 * m + c; a10 = a10 * m + c; a11 = a11 * m + c;
        }
        return Vector.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long Int8Chains256(long steps, byte weight)
    {
        Vector256<byte> w = Vector256.Create(weight);
        Vector256<short> ones = Vector256<short>.One;
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default, a8 = default, a9 = default, a10 = default, a11 = default;
        for (long i = 0; i < steps; i++)
        {
            a0 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(w, a0.AsSByte()), ones); a1 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(w, a1.AsSByte()), ones);
            a2 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(w, a2.AsSByte()), ones); a3 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(w, a3.AsSByte()), ones);
            a4 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(w, a4.AsSByte()), ones); a5 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(w, a5.AsSByte()), ones);
            a6 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(w, a6.AsSByte()), ones); a7 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(w, a7.AsSByte()), ones);
            a8 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(w, a8.AsSByte()), ones); a9 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(w, a9.AsSByte()), ones);
            a10 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(w, a10.AsSByte()), ones); a11 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(w, a11.AsSByte()), ones);
        }
        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long Int8Chains512(long steps, byte weight)
    {
        Vector512<byte> w = Vector512.Create(weight);
        Vector512<short> ones = Vector512<short>.One;
        Vector512<int> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default, a8 = default, a9 = default, a10 = default, a11 = default;
        for (long i = 0; i < steps; i++)
        {
            a0 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(w, a0.AsSByte()), ones); a1 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(w, a1.AsSByte()), ones);
            a2 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(w, a2.AsSByte()), ones); a3 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(w, a3.AsSByte()), ones);
            a4 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(w, a4.AsSByte()), ones); a5 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(w, a5.AsSByte()), ones);
            a6 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(w, a6.AsSByte()), ones); a7 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(w, a7.AsSByte()), ones);
            a8 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(w, a8.AsSByte()), ones); a9 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(w, a9.AsSByte()), ones);
            a10 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(w, a10.AsSByte()), ones); a11 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(w, a11.AsSByte()), ones);
        }
        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    // The portable q8 kernels multiply weights and values widened to 16 bits.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long Int8ChainsPortable(long steps, byte weight)
    {
        Vector<short> w = new(weight);
        Vector<short> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default, a8 = default, a9 = default, a10 = default, a11 = default;
        for (long i = 0; i < steps; i++)
        {
            a0 += w * a0; a1 += w * a1; a2 += w * a2; a3 += w * a3; a4 += w * a4; a5 += w * a5;
            a6 += w * a6; a7 += w * a7; a8 += w * a8; a9 += w * a9; a10 += w * a10; a11 += w * a11;
        }
        return Vector.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }
}
