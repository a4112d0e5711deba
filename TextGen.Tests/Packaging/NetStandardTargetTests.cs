using System.Numerics;
using System.Reflection;
using System.Runtime.Loader;
using System.Runtime.Versioning;
using TextGen.Benchmarks.Models;
using TextGen.Runtime.Format;
using TextGen.Runtime.Generation;
using TextGen.Runtime.Kernels;
using TextGen.Runtime.Model;
using TextGen.Runtime.Sampling;
using TextGen.Tests.Support;

namespace TextGen.Tests.Packaging;

/// <summary>
/// The netstandard2.1 build of the Runtime is the binary Unity, Godot's Mono builds and other netstandard hosts run,
/// and it is a binary of its own: no x86 intrinsics (its kernels are the <see cref="Vector{T}"/> and scalar ones),
/// its own array allocation, its own conditional code. The rest of the suite runs the net8.0 build. These tests
/// build the netstandard2.1 target from the current sources, load it beside the tested build in an
/// <see cref="AssemblyLoadContext"/> of its own, and hold it to the README's strict-mode promise: the same text as
/// the net8.0 build, which here takes its AVX-512 or AVX2 kernels, for every cell and dtype.
/// </summary>
[Category("Slow")]
public sealed class NetStandardTargetTests
{
    private const int Length = 300;

    private string _work = "";
    private AssemblyLoadContext? _context;
    private Assembly _netStandard = null!;

    [OneTimeSetUp]
    public void BuildAndLoadTheNetStandardTarget()
    {
        _work = Path.Combine(Path.GetTempPath(), $"textgen-netstandard-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_work);
        string output = Path.Combine(_work, "netstandard2.1");
        var build = ChildProcess.RunDotnetBuild(new[] { "build", Repository.PathOf("TextGen.Runtime", "TextGen.Runtime.csproj"), "-c", "Release", "-f", "netstandard2.1", "-o", output }, _work, TimeSpan.FromMinutes(5));
        Assert.That(build.ExitCode, Is.EqualTo(0), build.ToString());
        // Its dependencies (MessagePack, the BCL) resolve in the default context, as they would in a game.
        _context = new AssemblyLoadContext("TextGen.Runtime netstandard2.1", isCollectible: true);
        _netStandard = _context.LoadFromAssemblyPath(Path.Combine(output, "TextGen.Runtime.dll"));
    }

    [OneTimeTearDown]
    public void Unload()
    {
        _context?.Unload();
        Directory.Delete(_work, recursive: true);
    }

    [Test]
    public void TheLoadedBuildIsTheNetStandardOneAndTakesItsPortableKernels()
    {
        Assert.That(_netStandard, Is.Not.SameAs(typeof(TextModel).Assembly));
        Assert.That(_netStandard.GetCustomAttribute<TargetFrameworkAttribute>()?.FrameworkName, Is.EqualTo(".NETStandard,Version=v2.1"));
        object? bestPath = _netStandard.GetType("TextGen.Runtime.Kernels.KernelMode", throwOnError: true)!
            .GetProperty(nameof(KernelMode.BestPath), BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)!.GetValue(null);
        Assert.That(bestPath?.ToString(), Is.EqualTo(Vector.IsHardwareAccelerated ? nameof(KernelPath.Vector) : nameof(KernelPath.Scalar)));
    }

    [TestCase(TensorDType.F32)]
    [TestCase(TensorDType.F16)]
    [TestCase(TensorDType.Q8)]
    public void StrictModeWritesTheTestedBuildsTextOnTheShippedModel(TensorDType dtype)
    {
        string shipped = Path.Combine(AppContext.BaseDirectory, "artifacts", "shakespeare.tgm");
        string model = Path.Combine(_work, $"shakespeare-{dtype}.tgm");
        ModelFile.Read(File.ReadAllBytes(shipped), shipped).ConvertTo(dtype).WriteFile(model);
        AssertSameStrictText(model, seed: 7, "ROMEO:\n");
    }

    [TestCase(CellKind.Rnn)]
    [TestCase(CellKind.Gru)]
    [TestCase(CellKind.Lstm)]
    public void StrictModeWritesTheTestedBuildsTextForEveryCell(CellKind cell)
    {
        foreach (var dtype in new[] { TensorDType.F32, TensorDType.F16, TensorDType.Q8 })
        {
            AssertSameStrictText(WriteModelWithTails($"{cell}-{dtype}.tgm", cell, dtype, seed: 5), seed: 3, "ROMEO\n");
        }
    }

    [TestCase(TensorDType.F32)]
    [TestCase(TensorDType.F16)]
    [TestCase(TensorDType.Q8)]
    public void FastModeOnThePortableKernelsIsTheTestedBuildsPortableKernels(TensorDType dtype)
    {
        // Fast mode promises the same bits on one machine and path, not across paths; across the two builds on the
        // same path (Vector<T>, the only one the netstandard2.1 build has), it is the same code and must match too.
        string model = WriteModelWithTails($"lstm-fast-{dtype}.tgm", CellKind.Lstm, dtype, seed: 6);
        AssertSameText(model, seed: 4, "ROMEO\n", strict: false, Vector.IsHardwareAccelerated ? KernelPath.Vector : KernelPath.Scalar);
    }

    /// <summary>
    /// A random 2-layer model whose hidden 20, embedding 6 and vocabulary 37 ('\n' and 'B'..'e') leave a tail on every
    /// vector width and q8 block, written to <paramref name="name"/> in the work folder; returns its path.
    /// </summary>
    private string WriteModelWithTails(string name, CellKind cell, TensorDType dtype, int seed)
    {
        string path = Path.Combine(_work, name);
        var architecture = new ModelArchitecture(cell, 2, 20, 6, Enumerable.Range(0, 37).Select(i => i == 0 ? '\n' : 'A' + i).ToArray());
        RandomModels.Create(architecture, seed, scale: 0.8f).ConvertTo(dtype).WriteFile(path);
        return path;
    }

    private void AssertSameStrictText(string model, ulong seed, string prime) => AssertSameText(model, seed, prime, strict: true, path: null);

    private void AssertSameText(string model, ulong seed, string prime, bool strict, KernelPath? path)
    {
        var generator = TextModel.Load(model).CreateGenerator(new GeneratorOptions { Seed = seed, StrictDeterminism = strict, KernelPath = path, Sampling = new SamplingOptions { Temperature = 0.9, TopK = 20 } });
        generator.Prime(prime);
        string tested = generator.GenerateString(Length);
        Assert.That(tested, Has.Length.EqualTo(Length));
        var (text, state) = NetStandardRun(model, seed, prime, strict);
        Assert.That(text, Is.EqualTo(tested), Path.GetFileName(model));
        // The saved state holds every recurrent state float: equal bytes mean equal bits, not only equal samples.
        Assert.That(state, Is.EqualTo(generator.SaveState()), Path.GetFileName(model));
    }

    /// <summary>
    /// The same generation through the netstandard2.1 build's public API, by reflection (its types are not the tested
    /// build's): the text, then the generator's saved state.
    /// </summary>
    private (string Text, byte[] State) NetStandardRun(string model, ulong seed, string prime, bool strict)
    {
        object sampling = Create("TextGen.Runtime.Sampling.SamplingOptions", (nameof(SamplingOptions.Temperature), 0.9), (nameof(SamplingOptions.TopK), 20));
        object options = Create("TextGen.Runtime.Generation.GeneratorOptions", (nameof(GeneratorOptions.Seed), seed), (nameof(GeneratorOptions.StrictDeterminism), strict), (nameof(GeneratorOptions.Sampling), sampling));
        object loaded = Invoke(null, _netStandard.GetType("TextGen.Runtime.Model.TextModel", throwOnError: true)!, nameof(TextModel.Load), model);
        object generator = Invoke(loaded, loaded.GetType(), nameof(TextModel.CreateGenerator), options);
        Invoke(generator, generator.GetType(), nameof(TextGenerator.Prime), prime);
        string text = (string)Invoke(generator, generator.GetType(), nameof(TextGenerator.GenerateString), Length);
        return (text, (byte[])Invoke(generator, generator.GetType(), nameof(TextGenerator.SaveState)));
    }

    private object Create(string typeName, params (string Property, object Value)[] properties)
    {
        Type type = _netStandard.GetType(typeName, throwOnError: true)!;
        object instance = Activator.CreateInstance(type)!;
        foreach (var (property, value) in properties) type.GetProperty(property)!.SetValue(instance, value);
        return instance;
    }

    private static object Invoke(object? target, Type type, string method, params object[] arguments)
        => type.GetMethod(method, arguments.Select(a => a.GetType()).ToArray())!.Invoke(target, arguments)!;
}
