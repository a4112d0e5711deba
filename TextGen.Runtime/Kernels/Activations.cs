using System.Numerics;
#if NET8_0_OR_GREATER
using System.Runtime.Intrinsics;
#endif

namespace TextGen.Runtime.Kernels;

/// <summary>
/// exp, sigmoid and tanh built only from IEEE add, multiply, divide, compare and integer bit operations, so every
/// path and every runtime gives the same bits (MathF.Exp is the C runtime's and differs between platforms).
/// <para>
/// exp is Cephes' <c>expf</c> (S. L. Moshier): <c>exp(x) = 2^n · exp(r)</c> with <c>n = round(x / ln 2)</c>,
/// <c>r = x − n·ln 2</c> in two parts (Cody–Waite) so <c>|r| ≤ ln2/2</c>, and a degree-7 minimax polynomial for
/// <c>exp(r)</c>, evaluated without FMA. Measured against double-precision exp on a 0.00013 grid over [−87, 88]:
/// relative error ≤ 8.0e-8, about 1 ulp. Inputs below −87 give exactly 0 (exp(−87) ≈ 1.6e-38 is the bottom of
/// float's normal range; it keeps banned characters, whose logits are −∞, at probability exactly 0); inputs above 88
/// give exp(88) ≈ 1.65e38 instead of overflowing. sigmoid(x) = 1 / (1 + exp(−x)) has an absolute error ≤ 8.9e-8 and
/// tanh(x) = 1 − 2 / (exp(2x) + 1) ≤ 1.8e-7 (absolute, so near 0 tanh is not relatively exact; the recurrence only
/// needs absolute accuracy). ActivationTests keep these bounds.
/// </para>
/// </summary>
internal static class Activations
{
    private const float ExpMin = -87f;
    private const float ExpMax = 88f;
    private const float Log2E = 1.44269504088896341f;

    // Adding 1.5·2^23 rounds to the nearest integer and leaves it in the low mantissa bits (round-to-nearest-even),
    // with nothing but one add: the same on every path.
    private const float RoundingShift = 12582912f;
    private const int RoundingShiftBits = 0x4B400000;

    // ln 2 split so that n·Ln2High is exact for |n| ≤ 128.
    private const float Ln2High = 0.693359375f;
    private const float Ln2Low = -2.12194440e-4f;

    private const float P0 = 1.9875691500e-4f;
    private const float P1 = 1.3981999507e-3f;
    private const float P2 = 8.3334519073e-3f;
    private const float P3 = 4.1665795894e-2f;
    private const float P4 = 1.6666665459e-1f;
    private const float P5 = 5.0000001201e-1f;

    /// <summary>In-place logistic sigmoid.</summary>
    public static void Sigmoid(KernelPath path, Span<float> values) => Elementwise.Map(path, default(SigmoidOperator), values, values);

    /// <summary>In-place hyperbolic tangent.</summary>
    public static void Tanh(KernelPath path, Span<float> values) => Tanh(path, values, values);

    /// <summary><c>destination[i] = tanh(source[i])</c>, without first copying the source over.</summary>
    public static void Tanh(KernelPath path, ReadOnlySpan<float> source, Span<float> destination) => Elementwise.Map(path, default(TanhOperator), source, destination);

    public static float Exp(float x)
    {
        if (x < ExpMin) return 0f;
        if (x > ExpMax) x = ExpMax;
        float t = x * Log2E + RoundingShift;
        float n = t - RoundingShift;
        float r = x - n * Ln2High - n * Ln2Low;
        float p = P0;
        p = p * r + P1;
        p = p * r + P2;
        p = p * r + P3;
        p = p * r + P4;
        p = p * r + P5;
        float expR = p * (r * r) + r + 1f;
        int powerOfTwo = (BitConverter.SingleToInt32Bits(t) - (RoundingShiftBits - 127)) << 23;
        return expR * BitConverter.Int32BitsToSingle(powerOfTwo);
    }

    public static Vector<float> Exp(Vector<float> x)
    {
        Vector<int> underflow = Vector.LessThan(x, new Vector<float>(ExpMin));
        x = Vector.Min(Vector.Max(x, new Vector<float>(ExpMin)), new Vector<float>(ExpMax));
        Vector<float> t = x * new Vector<float>(Log2E) + new Vector<float>(RoundingShift);
        Vector<float> n = t - new Vector<float>(RoundingShift);
        Vector<float> r = x - n * new Vector<float>(Ln2High) - n * new Vector<float>(Ln2Low);
        Vector<float> p = new(P0);
        p = p * r + new Vector<float>(P1);
        p = p * r + new Vector<float>(P2);
        p = p * r + new Vector<float>(P3);
        p = p * r + new Vector<float>(P4);
        p = p * r + new Vector<float>(P5);
        Vector<float> expR = p * (r * r) + r + Vector<float>.One;
        // netstandard2.1's Vector<int> has no shift; multiplying by 2^23 is the same integer operation.
        Vector<int> powerOfTwo = (Vector.AsVectorInt32(t) - new Vector<int>(RoundingShiftBits - 127)) * new Vector<int>(1 << 23);
        return Vector.ConditionalSelect(underflow, Vector<float>.Zero, expR * Vector.AsVectorSingle(powerOfTwo));
    }

    public static float Sigmoid(float x) => 1f / (1f + Exp(-x));

    public static Vector<float> Sigmoid(Vector<float> x) => Vector<float>.One / (Vector<float>.One + Exp(-x));

    public static float Tanh(float x) => 1f - 2f / (Exp(2f * x) + 1f);

    public static Vector<float> Tanh(Vector<float> x)
    {
        Vector<float> two = new(2f);
        return Vector<float>.One - two / (Exp(two * x) + Vector<float>.One);
    }

#if NET8_0_OR_GREATER
    public static Vector256<float> Exp(Vector256<float> x)
    {
        Vector256<float> underflow = Vector256.LessThan(x, Vector256.Create(ExpMin));
        x = Vector256.Min(Vector256.Max(x, Vector256.Create(ExpMin)), Vector256.Create(ExpMax));
        Vector256<float> t = x * Vector256.Create(Log2E) + Vector256.Create(RoundingShift);
        Vector256<float> n = t - Vector256.Create(RoundingShift);
        Vector256<float> r = x - n * Vector256.Create(Ln2High) - n * Vector256.Create(Ln2Low);
        Vector256<float> p = Vector256.Create(P0);
        p = p * r + Vector256.Create(P1);
        p = p * r + Vector256.Create(P2);
        p = p * r + Vector256.Create(P3);
        p = p * r + Vector256.Create(P4);
        p = p * r + Vector256.Create(P5);
        Vector256<float> expR = p * (r * r) + r + Vector256<float>.One;
        Vector256<int> powerOfTwo = (t.AsInt32() - Vector256.Create(RoundingShiftBits - 127)) << 23;
        return Vector256.ConditionalSelect(underflow, Vector256<float>.Zero, expR * powerOfTwo.AsSingle());
    }

    public static Vector512<float> Exp(Vector512<float> x)
    {
        Vector512<float> underflow = Vector512.LessThan(x, Vector512.Create(ExpMin));
        x = Vector512.Min(Vector512.Max(x, Vector512.Create(ExpMin)), Vector512.Create(ExpMax));
        Vector512<float> t = x * Vector512.Create(Log2E) + Vector512.Create(RoundingShift);
        Vector512<float> n = t - Vector512.Create(RoundingShift);
        Vector512<float> r = x - n * Vector512.Create(Ln2High) - n * Vector512.Create(Ln2Low);
        Vector512<float> p = Vector512.Create(P0);
        p = p * r + Vector512.Create(P1);
        p = p * r + Vector512.Create(P2);
        p = p * r + Vector512.Create(P3);
        p = p * r + Vector512.Create(P4);
        p = p * r + Vector512.Create(P5);
        Vector512<float> expR = p * (r * r) + r + Vector512<float>.One;
        Vector512<int> powerOfTwo = (t.AsInt32() - Vector512.Create(RoundingShiftBits - 127)) << 23;
        return Vector512.ConditionalSelect(underflow, Vector512<float>.Zero, expR * powerOfTwo.AsSingle());
    }

    public static Vector256<float> Sigmoid(Vector256<float> x) => Vector256<float>.One / (Vector256<float>.One + Exp(-x));

    public static Vector512<float> Sigmoid(Vector512<float> x) => Vector512<float>.One / (Vector512<float>.One + Exp(-x));

    public static Vector256<float> Tanh(Vector256<float> x)
    {
        Vector256<float> two = Vector256.Create(2f);
        return Vector256<float>.One - two / (Exp(two * x) + Vector256<float>.One);
    }

    public static Vector512<float> Tanh(Vector512<float> x)
    {
        Vector512<float> two = Vector512.Create(2f);
        return Vector512<float>.One - two / (Exp(two * x) + Vector512<float>.One);
    }
#endif

    internal readonly struct SigmoidOperator : IElementwiseOperator
    {
        public float Invoke(float x) => Sigmoid(x);

        public Vector<float> Invoke(Vector<float> x) => Sigmoid(x);
#if NET8_0_OR_GREATER
        public Vector256<float> Invoke(Vector256<float> x) => Sigmoid(x);

        public Vector512<float> Invoke(Vector512<float> x) => Sigmoid(x);
#endif
    }

    internal readonly struct TanhOperator : IElementwiseOperator
    {
        public float Invoke(float x) => Tanh(x);

        public Vector<float> Invoke(Vector<float> x) => Tanh(x);
#if NET8_0_OR_GREATER
        public Vector256<float> Invoke(Vector256<float> x) => Tanh(x);

        public Vector512<float> Invoke(Vector512<float> x) => Tanh(x);
#endif
    }
}
