using TextGen.Runtime.Kernels;

namespace TextGen.Tests.Kernels;

internal sealed class SoftmaxTests
{
    [TestCaseSource(typeof(AllKernelPaths), nameof(AllKernelPaths.PathCases))]
    public void ProbabilitiesMatchDoublePrecisionAtEveryTemperature(KernelPath path)
    {
        var random = new Random(31);
        foreach (int n in new[] { 1, 2, 7, 16, 17, 65, 200 })
        foreach (float temperature in new[] { 1f, 0.5f, 2f, 0.05f })
        {
            float[] logits = AllKernelPaths.RandomFloats(random, n, 6f);
            var probabilities = new float[n];
            Softmax.Probabilities(path, logits, temperature, probabilities);
            double[] expected = ReferenceSoftmax(logits, temperature);
            for (int i = 0; i < n; i++) Assert.That(probabilities[i], Is.EqualTo(expected[i]).Within(1e-6), $"n {n}, T {temperature}, i {i}");
            Assert.That(probabilities.Sum(p => (double)p), Is.EqualTo(1.0).Within(1e-5));
        }
    }

    [TestCaseSource(typeof(AllKernelPaths), nameof(AllKernelPaths.PathCases))]
    public void MaskedLogitsGetExactlyZero(KernelPath path)
    {
        float[] logits = { 1f, float.NegativeInfinity, 3f, float.NegativeInfinity, -2f };
        var probabilities = new float[logits.Length];
        Softmax.Probabilities(path, logits, 1f, probabilities);
        Assert.That(probabilities[1], Is.EqualTo(0f));
        Assert.That(probabilities[3], Is.EqualTo(0f));
        Assert.That(probabilities[2], Is.GreaterThan(probabilities[0]));
    }

    [TestCaseSource(typeof(AllKernelPaths), nameof(AllKernelPaths.PathCases))]
    public void LogProbabilitiesMatchDoublePrecision(KernelPath path)
    {
        var random = new Random(32);
        foreach (int n in new[] { 1, 9, 65, 130 })
        {
            float[] logits = AllKernelPaths.RandomFloats(random, n, 8f);
            var logProbabilities = new float[n];
            Softmax.LogProbabilities(path, logits, logProbabilities);
            double[] expected = ReferenceSoftmax(logits, 1f);
            for (int i = 0; i < n; i++) Assert.That(logProbabilities[i], Is.EqualTo(Math.Log(expected[i])).Within(1e-5), $"n {n}, i {i}");
        }
    }

    [TestCaseSource(typeof(AllKernelPaths), nameof(AllKernelPaths.PathCases))]
    public void EveryPathGivesTheScalarBits(KernelPath path)
    {
        float[] logits = AllKernelPaths.RandomFloats(new Random(33), 67, 5f);
        var expected = new float[67];
        var actual = new float[67];
        Softmax.Probabilities(KernelPath.Scalar, logits, 0.7f, expected);
        Softmax.Probabilities(path, logits, 0.7f, actual);
        Assert.That(actual, Is.EqualTo(expected));
        Softmax.LogProbabilities(KernelPath.Scalar, logits, expected);
        Softmax.LogProbabilities(path, logits, actual);
        Assert.That(actual, Is.EqualTo(expected));
    }

    private static double[] ReferenceSoftmax(float[] logits, float temperature)
    {
        double max = logits.Max();
        double[] e = logits.Select(l => Math.Exp((l - max) / temperature)).ToArray();
        double sum = e.Sum();
        return e.Select(v => v / sum).ToArray();
    }
}
