using System.Numerics;
#if NET8_0_OR_GREATER
using System.Runtime.Intrinsics;
#endif

namespace TextGen.Runtime.Kernels;

/// <summary>
/// Softmax over a vocabulary-sized vector, for sampling, and log-softmax, for evaluation. The max and the sum are
/// vocabulary-sized, negligible next to the head's vocabulary×hidden product, so they run as scalar loops in the
/// fixed order; the exponentials run on the selected path.
/// </summary>
internal static class Softmax
{
    /// <summary><c>probabilities[i] = exp((logits[i] − max) / temperature) / Σ</c>. Logits of −∞ get exactly 0.</summary>
    public static void Probabilities(KernelPath path, ReadOnlySpan<float> logits, float temperature, Span<float> probabilities)
    {
        // Subtracting the max first keeps every exponent ≤ 0, and dividing after subtracting keeps the max's term
        // exactly exp(0) = 1 however small the temperature.
        Elementwise.Map(path, new ScaledExpOperator(Max(logits), temperature), logits, probabilities);
        Elementwise.Map(path, new DivideOperator(FixedOrderSum.Sum(probabilities)), probabilities, probabilities);
    }

    /// <summary><c>logProbabilities[i] = logits[i] − max − log Σ exp(logits − max)</c>; <paramref name="logProbabilities"/> is also the scratch.</summary>
    public static void LogProbabilities(KernelPath path, ReadOnlySpan<float> logits, Span<float> logProbabilities)
    {
        float max = Max(logits);
        Elementwise.Map(path, new ScaledExpOperator(max, 1f), logits, logProbabilities);
        float logSum = (float)Math.Log(FixedOrderSum.Sum(logProbabilities));
        Elementwise.Map(path, new SubtractOperator(max, logSum), logits, logProbabilities);
    }

    /// <summary>The largest value (exact in any order, so one plain loop serves every path).</summary>
    public static float Max(ReadOnlySpan<float> values)
    {
        float max = float.NegativeInfinity;
        foreach (float v in values)
        {
            if (v > max) max = v;
        }
        return max;
    }

    /// <summary><c>exp((x − shift) / divisor)</c>.</summary>
    internal readonly struct ScaledExpOperator : IElementwiseOperator
    {
        private readonly float _shift;
        private readonly float _divisor;

        public ScaledExpOperator(float shift, float divisor)
        {
            _shift = shift;
            _divisor = divisor;
        }

        public float Invoke(float x) => Activations.Exp((x - _shift) / _divisor);

        public Vector<float> Invoke(Vector<float> x) => Activations.Exp((x - new Vector<float>(_shift)) / new Vector<float>(_divisor));
#if NET8_0_OR_GREATER
        public Vector256<float> Invoke(Vector256<float> x) => Activations.Exp((x - Vector256.Create(_shift)) / Vector256.Create(_divisor));

        public Vector512<float> Invoke(Vector512<float> x) => Activations.Exp((x - Vector512.Create(_shift)) / Vector512.Create(_divisor));
#endif
    }

    /// <summary><c>x / divisor</c>.</summary>
    private readonly struct DivideOperator : IElementwiseOperator
    {
        private readonly float _divisor;

        public DivideOperator(float divisor) => _divisor = divisor;

        public float Invoke(float x) => x / _divisor;

        public Vector<float> Invoke(Vector<float> x) => x / new Vector<float>(_divisor);
#if NET8_0_OR_GREATER
        public Vector256<float> Invoke(Vector256<float> x) => x / Vector256.Create(_divisor);

        public Vector512<float> Invoke(Vector512<float> x) => x / Vector512.Create(_divisor);
#endif
    }

    /// <summary><c>(x − first) − second</c>.</summary>
    private readonly struct SubtractOperator : IElementwiseOperator
    {
        private readonly float _first;
        private readonly float _second;

        public SubtractOperator(float first, float second)
        {
            _first = first;
            _second = second;
        }

        public float Invoke(float x) => x - _first - _second;

        public Vector<float> Invoke(Vector<float> x) => x - new Vector<float>(_first) - new Vector<float>(_second);
#if NET8_0_OR_GREATER
        public Vector256<float> Invoke(Vector256<float> x) => x - Vector256.Create(_first) - Vector256.Create(_second);

        public Vector512<float> Invoke(Vector512<float> x) => x - Vector512.Create(_first) - Vector512.Create(_second);
#endif
    }
}
