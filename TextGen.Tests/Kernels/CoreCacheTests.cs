using System.Runtime.Intrinsics.X86;
using TextGen.Runtime.Kernels;

namespace TextGen.Tests.Kernels;

internal sealed class CoreCacheTests
{
    /// <summary>
    /// CPUID's L2 size is the one Linux reports for the first core (from CPUID leaf 4 on Intel, 0x8000001D on AMD: other
    /// leaves than the Runtime reads). Elsewhere on x64 it is at least some size; off x64 the CPU is not asked.
    /// </summary>
    [Test]
    public void TheL2SizeIsTheOneTheOperatingSystemReports()
    {
        const string level2 = "/sys/devices/system/cpu/cpu0/cache/index2";
        if (!X86Base.IsSupported)
        {
            Assert.That(CoreCache.L2Bytes, Is.Zero);
            return;
        }
        if (!File.Exists(Path.Combine(level2, "size")))
        {
            Assert.That(CoreCache.L2Bytes, Is.GreaterThanOrEqualTo(64 * 1024));
            return;
        }
        Assert.That(File.ReadAllText(Path.Combine(level2, "level")).Trim(), Is.EqualTo("2"));
        string size = File.ReadAllText(Path.Combine(level2, "size")).Trim();
        Assert.That(size, Does.EndWith("K"));
        Assert.That(CoreCache.L2Bytes, Is.EqualTo(long.Parse(size.TrimEnd('K'), System.Globalization.CultureInfo.InvariantCulture) * 1024));
    }
}
