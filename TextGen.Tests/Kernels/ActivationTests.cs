using TextGen.Runtime.Kernels;

namespace TextGen.Tests.Kernels;

internal sealed class ActivationTests
{
    [Test]
    public void ExpIsWithinTheDocumentedRelativeError()
    {
        double worst = 0;
        for (double x = -87; x <= 88; x += 0.0013)
        {
            float input = (float)x;
            double exact = Math.Exp(input);
            worst = Math.Max(worst, Math.Abs(Activations.Exp(input) - exact) / exact);
        }
        Assert.That(worst, Is.LessThan(1.0e-7));
    }

    [Test]
    public void SigmoidAndTanhAreWithinTheDocumentedAbsoluteError()
    {
        double worstSigmoid = 0, worstTanh = 0;
        for (double x = -30; x <= 30; x += 0.0007)
        {
            float input = (float)x;
            worstSigmoid = Math.Max(worstSigmoid, Math.Abs(Activations.Sigmoid(input) - 1 / (1 + Math.Exp(-(double)input))));
            worstTanh = Math.Max(worstTanh, Math.Abs(Activations.Tanh(input) - Math.Tanh(input)));
        }
        Assert.That(worstSigmoid, Is.LessThan(1.0e-7));
        Assert.That(worstTanh, Is.LessThan(2.0e-7));
    }

    [Test]
    public void ExtremeInputsSaturateWithoutOverflow()
    {
        Assert.That(Activations.Exp(float.NegativeInfinity), Is.EqualTo(0f));
        Assert.That(Activations.Exp(-100f), Is.EqualTo(0f));
        Assert.That(Activations.Exp(1000f), Is.EqualTo(Math.Exp(88)).Within(1e-6).Percent);
        Assert.That(Activations.Exp(0f), Is.EqualTo(1f));
        Assert.That(Activations.Sigmoid(-1000f), Is.InRange(0f, 1e-37f));
        Assert.That(Activations.Sigmoid(1000f), Is.EqualTo(1f));
        Assert.That(Activations.Sigmoid(0f), Is.EqualTo(0.5f));
        Assert.That(Activations.Tanh(-1000f), Is.EqualTo(-1f));
        Assert.That(Activations.Tanh(1000f), Is.EqualTo(1f));
        Assert.That(Activations.Tanh(0f), Is.EqualTo(0f));
    }

    [TestCaseSource(typeof(AllKernelPaths), nameof(AllKernelPaths.PathCases))]
    public void EveryPathGivesTheScalarBits(KernelPath path)
    {
        var random = new Random(21);
        foreach (int n in new[] { 0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 33, 64, 70 })
        {
            float[] input = AllKernelPaths.RandomFloats(random, n, 12f);
            if (n > 4)
            {
                input[0] = -1000f;
                input[1] = 1000f;
                input[2] = float.NegativeInfinity;
                input[3] = 0f;
            }
            var sigmoid = (float[])input.Clone();
            var tanh = (float[])input.Clone();
            var exp = new float[n];
            Activations.Sigmoid(path, sigmoid);
            Activations.Tanh(path, tanh);
            Elementwise.Map(path, new Softmax.ScaledExpOperator(0f, 1f), input, exp);
            for (int i = 0; i < n; i++)
            {
                Assert.That(sigmoid[i], Is.EqualTo(Activations.Sigmoid(input[i])), $"sigmoid({input[i]}), n {n}");
                Assert.That(tanh[i], Is.EqualTo(Activations.Tanh(input[i])), $"tanh({input[i]}), n {n}");
                Assert.That(exp[i], Is.EqualTo(Activations.Exp(input[i])), $"exp({input[i]}), n {n}");
            }
        }
    }

    [Test]
    public void MapRefusesMismatchedLengths()
    {
        Assert.Throws<ArgumentException>(() => Elementwise.MapVector(default(Activations.TanhOperator), new float[3], new float[4]));
    }
}
