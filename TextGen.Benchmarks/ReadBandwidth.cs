using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using TextGen.Runtime.Format;

namespace TextGen.Benchmarks;

/// <summary>
/// Single-threaded read bandwidth over a buffer of a given size: the roofline's ceiling for a forward pass that reads
/// that many weight bytes per character. The buffer has the size of the weights, so it sits in the same level of the
/// cache hierarchy as they do while generating, and it is allocated as the Runtime allocates weight matrices
/// (<see cref="AlignedArray"/>: on a cache line, and from 2 MiB on huge pages where Linux has them), so the ceiling is
/// measured on the same kind of memory the kernels read.
/// </summary>
internal sealed class ReadBandwidth
{
    private readonly ArraySegment<float> _buffer;

    /// <summary>A buffer of <paramref name="bytes"/> (rounded up to whole floats), filled with ones.</summary>
    public ReadBandwidth(long bytes)
    {
        _buffer = AlignedArray.Create<float>(checked((int)((bytes + sizeof(float) - 1) / sizeof(float))));
        _buffer.AsSpan().Fill(1f);
    }

    /// <summary>
    /// Bytes per second of whole passes summing the buffer for at least <paramref name="minimumSeconds"/>: the faster
    /// of two read loops, each given half the time. One reads the buffer front to back; the other reads its four
    /// quarters side by side, as a kernel reads four rows, which keeps more cache misses in flight and on this
    /// machine reads 1.3–1.7× faster (docs/performance.md). A ceiling must not be lower than what a kernel can reach.
    /// The sums are checked, which keeps the JIT from dropping the loops and the caller from trusting a broken measurement.
    /// </summary>
    public double MeasureBytesPerSecond(double minimumSeconds) => MeasureEach(minimumSeconds).Best;

    /// <summary>Both loops' bytes per second, each measured for half of <paramref name="minimumSeconds"/>.</summary>
    public ReadRates MeasureEach(double minimumSeconds)
        => new(MeasureBytesPerSecond(minimumSeconds / 2, Sum), MeasureBytesPerSecond(minimumSeconds / 2, SumQuarters));

    private double MeasureBytesPerSecond(double minimumSeconds, SumLoop sumLoop)
    {
        // Reading the clock after every pass would cost more than a pass over a small model's few kilobytes.
        int passesPerClockRead = Math.Max(1, (1 << 20) / (_buffer.Count * sizeof(float)));
        long passes = 0;
        long start = Stopwatch.GetTimestamp();
        double seconds;
        do
        {
            for (int p = 0; p < passesPerClockRead; p++)
            {
                float sum = sumLoop(_buffer);
                if (sum != _buffer.Count) throw new InvalidOperationException($"sum of {_buffer.Count} ones was {sum}");
            }
            passes += passesPerClockRead;
            seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        while (seconds < minimumSeconds);
        return passes * (double)_buffer.Count * sizeof(float) / seconds;
    }

    // Four independent accumulators hide the add latency, so loads are the limit, as in a matrix-vector kernel.
    // Exact for a buffer of ones below 2^24 elements per accumulator lane. Both loops are compiled fully optimized
    // at once: under tiered compilation the first rounds' reads ran slower (a review measured 15–30%), and a ceiling measured low flatters.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Sum(ReadOnlySpan<float> values)
    {
        int width = Vector<float>.Count, i = 0;
        Vector<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (; i <= values.Length - 4 * width; i += 4 * width)
        {
            a0 += new Vector<float>(values.Slice(i));
            a1 += new Vector<float>(values.Slice(i + width));
            a2 += new Vector<float>(values.Slice(i + 2 * width));
            a3 += new Vector<float>(values.Slice(i + 3 * width));
        }
        float sum = Vector.Sum(a0 + a1 + a2 + a3);
        for (; i < values.Length; i++) sum += values[i];
        return sum;
    }

    // Sum's work over four streams: element i of each quarter in turn, two accumulators per quarter.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float SumQuarters(ReadOnlySpan<float> values)
    {
        int width = Vector<float>.Count;
        int quarter = values.Length / 4 / (2 * width) * (2 * width);
        ReadOnlySpan<float> q0 = values.Slice(0, quarter), q1 = values.Slice(quarter, quarter), q2 = values.Slice(2 * quarter, quarter), q3 = values.Slice(3 * quarter, quarter);
        Vector<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
        for (int i = 0; i < quarter; i += 2 * width)
        {
            a0 += new Vector<float>(q0.Slice(i));
            b0 += new Vector<float>(q0.Slice(i + width));
            a1 += new Vector<float>(q1.Slice(i));
            b1 += new Vector<float>(q1.Slice(i + width));
            a2 += new Vector<float>(q2.Slice(i));
            b2 += new Vector<float>(q2.Slice(i + width));
            a3 += new Vector<float>(q3.Slice(i));
            b3 += new Vector<float>(q3.Slice(i + width));
        }
        float sum = Vector.Sum(a0 + b0 + a1 + b1 + a2 + b2 + a3 + b3);
        for (int i = 4 * quarter; i < values.Length; i++) sum += values[i];
        return sum;
    }

    private delegate float SumLoop(ReadOnlySpan<float> values);
}

/// <summary>Bytes per second of <see cref="ReadBandwidth"/>'s front-to-back loop and its four-stream loop.</summary>
internal readonly record struct ReadRates(double Sequential, double Quarters)
{
    /// <summary>The faster of the two: the ceiling.</summary>
    public double Best => Math.Max(Sequential, Quarters);

    /// <summary>Each loop's best of this and <paramref name="other"/>.</summary>
    public ReadRates Max(ReadRates other) => new(Math.Max(Sequential, other.Sequential), Math.Max(Quarters, other.Quarters));
}
