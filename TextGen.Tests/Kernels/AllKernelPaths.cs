using TextGen.Runtime.Kernels;

namespace TextGen.Tests.Kernels;

/// <summary>Every kernel path, for tests that force each one whatever this machine accelerates.</summary>
internal static class AllKernelPaths
{
    public static readonly KernelPath[] Paths = { KernelPath.Scalar, KernelPath.Vector, KernelPath.Vector256, KernelPath.Vector512 };

    /// <summary>Every path in both modes, as test cases named after them.</summary>
    public static IEnumerable<TestCaseData> Modes()
    {
        foreach (KernelPath path in Paths)
        {
            yield return new TestCaseData(new KernelMode(path, strict: true)).SetArgDisplayNames($"{path} strict");
            yield return new TestCaseData(new KernelMode(path, strict: false)).SetArgDisplayNames($"{path} fast");
        }
    }

    /// <summary>
    /// Every path in both modes for weights that stay in cache (<see cref="KernelMode.PrefetchesWeights"/> off), whose
    /// f32 kernels read the same tiles without the prefetch hints.
    /// </summary>
    public static IEnumerable<TestCaseData> CachedWeightModes()
    {
        foreach (KernelPath path in Paths)
        {
            yield return new TestCaseData(new KernelMode(path, strict: true, prefetchesWeights: false)).SetArgDisplayNames($"{path} strict, cached weights");
            yield return new TestCaseData(new KernelMode(path, strict: false, prefetchesWeights: false)).SetArgDisplayNames($"{path} fast, cached weights");
        }
    }

    /// <summary>Every path as test cases.</summary>
    public static IEnumerable<TestCaseData> PathCases() => Paths.Select(p => new TestCaseData(p).SetArgDisplayNames(p.ToString()));

    /// <summary>Uniform floats in ±<paramref name="scale"/> from a seeded generator (test data only).</summary>
    public static float[] RandomFloats(Random random, int count, float scale = 1f)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float)((random.NextDouble() * 2 - 1) * scale);
        return values;
    }
}
