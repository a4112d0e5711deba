using System.Diagnostics;
using System.Numerics;

namespace TextGen.Benchmarks;

/// <summary>
/// Single-threaded read bandwidth over a buffer of a given size: the roofline's ceiling for a forward pass that reads
/// that many weight bytes per character. The buffer has the size of the weights, so it sits in the same level of the
/// cache hierarchy as they do while generating.
/// </summary>
internal sealed class ReadBandwidth
{
    private readonly float[] _buffer;

    /// <summary>A buffer of <paramref name="bytes"/> (rounded up to whole floats), filled with ones.</summary>
    public ReadBandwidth(long bytes)
    {
        _buffer = new float[(bytes + sizeof(float) - 1) / sizeof(float)];
        Array.Fill(_buffer, 1f);
    }

    /// <summary>
    /// Bytes per second of whole passes summing the buffer for at least <paramref name="minimumSeconds"/>. The sum
    /// is checked, which keeps the JIT from dropping the loop and the caller from trusting a broken measurement.
    /// </summary>
    public double MeasureBytesPerSecond(double minimumSeconds)
    {
        // Reading the clock after every pass would cost more than a pass over a small model's few kilobytes.
        int passesPerClockRead = Math.Max(1, (1 << 20) / (_buffer.Length * sizeof(float)));
        long passes = 0;
        long start = Stopwatch.GetTimestamp();
        double seconds;
        do
        {
            for (int p = 0; p < passesPerClockRead; p++)
            {
                float sum = Sum(_buffer);
                if (sum != _buffer.Length) throw new InvalidOperationException($"sum of {_buffer.Length} ones was {sum}");
            }
            passes += passesPerClockRead;
            seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        while (seconds < minimumSeconds);
        return passes * (double)_buffer.Length * sizeof(float) / seconds;
    }

    // Four independent accumulators hide the add latency, so loads are the limit, as in a matrix-vector kernel.
    // Exact for a buffer of ones below 2^24 elements per accumulator lane.
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
}
