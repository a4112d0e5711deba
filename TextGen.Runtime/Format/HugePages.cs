#if NET5_0_OR_GREATER
using System.Runtime.InteropServices;

namespace TextGen.Runtime.Format;

/// <summary>
/// Asks Linux to back large weight matrices with 2 MiB pages (transparent huge pages, which most distributions enable
/// in "madvise" mode, so a program must ask). A step streams every weight once from the cache. On 4 KiB pages the
/// shipped model's 13.3 MB span 3,250 pages, more than a Zen 4 core's 3,072 second-level TLB entries, so each page
/// costs a table walk, and the hardware prefetchers stop at every page boundary. On 2 MiB pages a plain read of those
/// weights ran 1.24–1.36× faster (docs/performance-history.md, session 26).
/// <para>
/// Advice only: on other systems, where the kernel has huge pages off, or where the call is missing (a runtime without
/// libc), the weights stay on normal pages and nothing else changes. Not in the netstandard2.1 build, whose arrays are
/// zeroed, and so written, before they could be advised.
/// </para>
/// </summary>
internal static class HugePages
{
    /// <summary>Bytes of one huge page: large matrices start on this boundary (<see cref="AlignedArray"/>).</summary>
    public const int PageBytes = 2 << 20;

    private const string ModeFile = "/sys/kernel/mm/transparent_hugepage/enabled";
    private const int AdviseHugePage = 14; // MADV_HUGEPAGE

    private static readonly Lazy<bool> Available = new(ReadAvailable);
    private static volatile bool _callMissing;

    /// <summary>Whether this system gives transparent huge pages to memory that asks for them (Linux, mode "always" or "madvise").</summary>
    public static bool Supported => Available.Value && !_callMissing;

    /// <summary>
    /// Advises huge pages for the <paramref name="bytes"/> at <paramref name="start"/>, a <see cref="PageBytes"/>
    /// boundary, before they are first written: each whole huge page of the range is then faulted in as one.
    /// </summary>
    public static void Advise(IntPtr start, long bytes)
    {
        if (!Supported || bytes < PageBytes) return;
        try
        {
            // A refusal (an old kernel, a range the kernel will not split) leaves normal pages: nothing to report.
            _ = Madvise(start, (UIntPtr)(ulong)(bytes - bytes % PageBytes), AdviseHugePage);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _callMissing = true;
        }
    }

    // The kernel's mode, shown as e.g. "always [madvise] never"; unreadable means no huge pages to ask for.
    private static bool ReadAvailable()
    {
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) return false;
        try
        {
            string mode = File.ReadAllText(ModeFile);
            return mode.Contains("[always]") || mode.Contains("[madvise]");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return false;
        }
    }

    [DllImport("libc", EntryPoint = "madvise")]
    private static extern int Madvise(IntPtr address, UIntPtr length, int advice);
}
#endif
