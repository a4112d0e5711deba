using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using TextGen.Runtime.Kernels;

namespace TextGen.Benchmarks.Report;

/// <summary>What a measurement ran on: the CPU, the instruction sets .NET lets the kernels use, the path they take.</summary>
/// <param name="Cpu">The CPU's name as Linux reports it, or the architecture where nothing reports one.</param>
/// <param name="LogicalCpus">Logical CPUs this process may use.</param>
/// <param name="VectorFeatures">The vector instruction sets the Runtime's kernels can use, and those they would but cannot.</param>
/// <param name="KernelPath">The Runtime's kernel path here (<see cref="KernelMode.BestPath"/>).</param>
/// <param name="Framework">The .NET runtime.</param>
/// <param name="OperatingSystem">The operating system.</param>
internal sealed record MachineDescription(string Cpu, int LogicalCpus, string VectorFeatures, string KernelPath, string Framework, string OperatingSystem)
{
    private const string CpuInfo = "/proc/cpuinfo";
    private const string LoadAverageFile = "/proc/loadavg";

    /// <summary>This machine.</summary>
    public static MachineDescription Current() => new(
        CpuInfoField("model name") ?? RuntimeInformation.ProcessArchitecture.ToString(),
        Environment.ProcessorCount,
        VectorFeatureList(),
        KernelMode.BestPath.ToString(),
        RuntimeInformation.FrameworkDescription,
        RuntimeInformation.OSDescription);

    /// <summary>The first value of <paramref name="field"/> in Linux's <c>/proc/cpuinfo</c>; null where there is none.</summary>
    public static string? CpuInfoField(string field)
    {
        if (!File.Exists(CpuInfo)) return null;
        foreach (string line in File.ReadLines(CpuInfo))
        {
            int colon = line.IndexOf(':');
            if (colon > 0 && line.AsSpan(0, colon).Trim().SequenceEqual(field)) return line[(colon + 1)..].Trim();
        }
        return null;
    }

    /// <summary>Linux's 1-, 5- and 15-minute load averages (<c>/proc/loadavg</c>); null where there are none.</summary>
    public static string? LoadAverage()
        => File.Exists(LoadAverageFile) ? string.Join(' ', File.ReadAllText(LoadAverageFile).Split(' ').Take(3)) : null;

    // The sets the kernels branch on: AVX-512F/BW for the 512-bit f32, f16 and q8 kernels, AVX2 and FMA for the 256-bit
    // ones, AdvSimd for Vector<T> on Arm. Listing the absent ones says which kernels this run could not measure.
    private static string VectorFeatureList()
    {
        var sets = RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86
            ? new (string Name, bool Present)[] { ("AVX2", Avx2.IsSupported), ("FMA", Fma.IsSupported), ("AVX-512F", Avx512F.IsSupported), ("AVX-512BW", Avx512BW.IsSupported) }
            : new (string Name, bool Present)[] { ("AdvSimd", AdvSimd.IsSupported) };
        string present = string.Join(", ", sets.Where(s => s.Present).Select(s => s.Name));
        string absent = string.Join(", ", sets.Where(s => !s.Present).Select(s => s.Name));
        return (present.Length == 0 ? "none" : present) + (absent.Length == 0 ? "" : $" (no {absent})");
    }
}
