using System.Numerics;
using TextGen.Runtime.Kernels;
using TextGen.Tests.Support;

namespace TextGen.Tests.Kernels;

/// <summary>
/// The <see cref="Vector{T}"/> kernels have branches for 4-float vectors (ARM NEON, SSE-only x64) that this AVX2
/// machine never takes with its 8-float <see cref="Vector{T}"/>. The runtime can be asked for a narrower one
/// (<c>DOTNET_MaxVectorTBitWidth=128</c>), so the kernel tests run again in a child test run that has it.
/// </summary>
internal sealed class NarrowVectorTests
{
    private const string WidthVariable = "DOTNET_MaxVectorTBitWidth";

    /// <summary>The tests the child runs: every kernel test (the width check among them) and the f16/q8 model tests, but not the one that starts it.</summary>
    private const string ChildFilter = "(FullyQualifiedName~TextGen.Tests.Kernels|FullyQualifiedName~EncodedModelTests)&FullyQualifiedName!~NarrowVectorTests.KernelTestsPass";

    [Test]
    public void VectorTIsAsWideAsTheRuntimeWasAsked()
    {
        int bits = Vector<byte>.Count * 8;
        TestContext.Out.WriteLine($"Vector<T> is {Vector<byte>.Count} bytes; best path {KernelMode.BestPath}");
        Assert.That(bits, Is.AnyOf(128, 256, 512));
        if (int.TryParse(Environment.GetEnvironmentVariable(WidthVariable), out int asked)) Assert.That(bits, Is.EqualTo(asked));
    }

    [Test]
    public void KernelTestsPassWith128BitVectorT()
    {
        string tests = typeof(NarrowVectorTests).Assembly.Location;
        var run = ChildProcess.Run(ChildProcess.Dotnet,
            new[] { "test", tests, "--filter", ChildFilter, "--logger", "console;verbosity=detailed" },
            AppContext.BaseDirectory, TimeSpan.FromMinutes(4), new Dictionary<string, string> { [WidthVariable] = "128" });
        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        Assert.That(run.Output, Does.Contain("Vector<T> is 16 bytes"), run.ToString());
        Assert.That(run.Output, Does.Match(@"Passed:\s+[1-9][0-9]{2,}"), run.ToString());
    }
}
