using System.Diagnostics;
using System.Runtime.InteropServices;

namespace TextGen.Benchmarks;

/// <summary>
/// What giving a model's weights new memory costs before a byte of them is copied. Linux maps anonymous memory lazily:
/// the first write to each page faults, and the kernel zeroes a page for it (on a virtual machine the hypervisor may
/// fault too). A load whose weight arrays land in pages the process never touched pays this for each page, whatever
/// the loader does; one whose arrays reuse pages the garbage collector kept does not.
/// </summary>
internal static class FreshMemory
{
    private const int ProtRead = 1, ProtWrite = 2, MapPrivate = 0x02, MapAnonymous = 0x20;

    /// <summary>
    /// Milliseconds to write one byte to every page of a new anonymous mapping of <paramref name="bytes"/>, the
    /// median of <paramref name="rounds"/> mappings; null off Linux.
    /// </summary>
    public static double? MedianTouchMilliseconds(long bytes, int rounds)
    {
        if (!OperatingSystem.IsLinux()) return null;
        return Statistic.Median(Enumerable.Range(0, rounds).Select(_ => TouchMilliseconds(bytes)));
    }

    private static double TouchMilliseconds(long bytes)
    {
        nint region = Mmap(0, (nuint)bytes, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
        if (region == -1) throw new InvalidOperationException($"mmap of {bytes} bytes failed (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            long start = Stopwatch.GetTimestamp();
            for (long offset = 0; offset < bytes; offset += Environment.SystemPageSize) Marshal.WriteByte(region + (nint)offset, 1);
            return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        finally
        {
            Munmap(region, (nuint)bytes);
        }
    }

    [DllImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static extern nint Mmap(nint address, nuint length, int protection, int flags, int fileDescriptor, nint offset);

    [DllImport("libc", EntryPoint = "munmap")]
    private static extern int Munmap(nint address, nuint length);
}
