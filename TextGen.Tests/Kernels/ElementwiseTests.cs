using TextGen.Runtime.Kernels;

namespace TextGen.Tests.Kernels;

/// <summary>The LSTM and GRU updates' element-wise arithmetic: every path gives the bits of the plain float expression.</summary>
internal sealed class ElementwiseTests
{
    private static readonly int[] Lengths = { 0, 1, 3, 7, 8, 9, 15, 16, 17, 33, 100, 512 };

    [TestCaseSource(typeof(AllKernelPaths), nameof(AllKernelPaths.PathCases))]
    public void AddProductsGivesTheScalarBitsOnEveryPath(KernelPath path)
    {
        var random = new Random(21);
        foreach (int length in Lengths)
        foreach (bool inPlace in new[] { false, true })
        {
            float[] a = Values(random, length), b = Values(random, length), c = Values(random, length), d = Values(random, length);
            var expected = new float[length];
            for (int i = 0; i < length; i++) expected[i] = a[i] * b[i] + c[i] * d[i];
            // In place as the LSTM uses it: c' = f·c + i·g writes over its second factor.
            float[] actual = inPlace ? b : new float[length];
            Elementwise.AddProducts(path, a, b, c, d, actual);
            AssertSameBits(expected, actual, $"{path}, length {length}, in place {inPlace}");
        }
    }

    [TestCaseSource(typeof(AllKernelPaths), nameof(AllKernelPaths.PathCases))]
    public void MultiplyGivesTheScalarBitsOnEveryPath(KernelPath path)
    {
        var random = new Random(22);
        foreach (int length in Lengths)
        foreach (bool inPlace in new[] { false, true })
        {
            float[] a = Values(random, length), b = Values(random, length);
            var expected = new float[length];
            for (int i = 0; i < length; i++) expected[i] = a[i] * b[i];
            float[] actual = inPlace ? a : new float[length];
            Elementwise.Multiply(path, a, b, actual);
            AssertSameBits(expected, actual, $"{path}, length {length}, in place {inPlace}");
        }
    }

    [TestCaseSource(typeof(AllKernelPaths), nameof(AllKernelPaths.PathCases))]
    public void AddProductGivesTheScalarBitsOnEveryPath(KernelPath path)
    {
        var random = new Random(23);
        foreach (int length in Lengths)
        {
            float[] a = Values(random, length), b = Values(random, length), actual = Values(random, length);
            var expected = (float[])actual.Clone();
            for (int i = 0; i < length; i++) expected[i] += a[i] * b[i];
            Elementwise.AddProduct(path, a, b, actual);
            AssertSameBits(expected, actual, $"{path}, length {length}");
        }
    }

    [TestCaseSource(typeof(AllKernelPaths), nameof(AllKernelPaths.PathCases))]
    public void BlendGivesTheScalarBitsOnEveryPath(KernelPath path)
    {
        var random = new Random(24);
        foreach (int length in Lengths)
        foreach (bool inPlace in new[] { false, true })
        {
            // z is a gate in (0, 1); n and h span the magnitudes.
            float[] z = AllKernelPaths.RandomFloats(random, length).Select(v => Math.Abs(v)).ToArray(), n = Values(random, length), h = Values(random, length);
            var expected = new float[length];
            for (int i = 0; i < length; i++) expected[i] = (1f - z[i]) * n[i] + z[i] * h[i];
            // In place as the GRU uses it: h' = (1 − z)·n + z·h writes over h.
            float[] actual = inPlace ? h : new float[length];
            Elementwise.Blend(path, z, n, h, actual);
            AssertSameBits(expected, actual, $"{path}, length {length}, in place {inPlace}");
        }
    }

    [Test]
    public void MismatchedLengthsAreRefused()
    {
        Assert.Throws<ArgumentException>(() => Elementwise.AddProducts(KernelPath.Vector, new float[4], new float[4], new float[3], new float[4], new float[4]));
        Assert.Throws<ArgumentException>(() => Elementwise.Multiply(KernelPath.Scalar, new float[4], new float[5], new float[4]));
        Assert.Throws<ArgumentException>(() => Elementwise.AddProduct(KernelPath.Vector256, new float[4], new float[4], new float[2]));
        Assert.Throws<ArgumentException>(() => Elementwise.Blend(KernelPath.Vector, new float[4], new float[4], new float[5], new float[4]));
    }

    // Magnitudes from 1e-30 to 1e30, so that products round, underflow toward subnormals and overflow to infinity.
    private static float[] Values(Random random, int length)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++) values[i] = (float)((random.NextDouble() * 2 - 1) * Math.Pow(10, random.Next(-30, 31)));
        return values;
    }

    private static void AssertSameBits(float[] expected, float[] actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
            Assert.That(BitConverter.SingleToInt32Bits(actual[i]), Is.EqualTo(BitConverter.SingleToInt32Bits(expected[i])), $"{what}, element {i}");
    }
}
