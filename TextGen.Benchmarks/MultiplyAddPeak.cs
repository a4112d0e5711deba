using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TextGen.Runtime.Kernels;

namespace TextGen.Benchmarks;

/// <summary>
/// Single-threaded float multiply-add throughput, measured: the ceiling of a batch that is bound by arithmetic. The
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

    /// <summary>Multiply-adds per second over at least <paramref name="minimumSeconds"/>, the best of five parts.</summary>
    public static double Measure(double minimumSeconds)
    {
        int lanes = Lanes;
        double best = 0;
        for (int part = 0; part < 5; part++)
        {
            long steps = 0;
            long start = Stopwatch.GetTimestamp();
            double seconds;
            do
            {
                // Every chain computes 1 · 1 + 0 and so stays 1: the check keeps the loop from being dropped.
                float sum = Wide512 ? Chains512(StepsPerCheck, 1f, 0f) : Fma.IsSupported ? Chains256(StepsPerCheck, 1f, 0f) : ChainsPortable(StepsPerCheck, 1f, 0f);
                if (sum != Chains * lanes) throw new InvalidOperationException($"multiply-add chains summed to {sum}");
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
}
