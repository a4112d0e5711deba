using System.Runtime.InteropServices;

namespace TextGen.Runtime.Format;

/// <summary>
/// Uninitialized storage for a weight matrix (or a batch's vectors) whose first element starts a 64-byte cache line.
/// The kernels read rows with 32- and 64-byte loads, and a load that straddles two lines costs two: at the 8-byte
/// granularity the heap places arrays, up to half of a row's loads did. Aligned, the shipped model's f32 generation
/// ran 3–13% faster in five of six A/B runs and a batch of 32 sessions 7–21% faster; q8 and f16 did not move
/// (docs/performance-history.md, "Weights on cache lines").
/// <para>
/// .NET 5 and later allocate the array pinned, so it never moves and the start stays aligned. netstandard2.1 cannot
/// pin an allocation: there the start is aligned where the array lies when allocated, which holds under a non-moving
/// collector (IL2CPP's) and for large arrays, which .NET does not compact by default. Either way only speed depends on
/// it: the elements before the start and after the end are never read.
/// </para>
/// </summary>
internal static class AlignedArray
{
    public const int LineBytes = 64;

    /// <summary>
    /// <paramref name="length"/> elements of unspecified contents, the segment's first on a 64-byte boundary; from
    /// 2 MiB up, where the system has huge pages (the net8.0 build), on a huge-page boundary and advised to use them
    /// (HugePages). The up to 2 MiB skipped before such a start are never written: they take address space and
    /// count as allocated, and (in the kernel's madvise mode) no memory.
    /// </summary>
    public static ArraySegment<T> Create<T>(int length) where T : unmanaged
    {
        int size = Marshal.SizeOf<T>();
        long bytes = (long)length * size;
#if NET5_0_OR_GREATER
        int alignment = bytes >= HugePages.PageBytes && HugePages.Supported ? HugePages.PageBytes : LineBytes;
        T[] array = GC.AllocateUninitializedArray<T>(checked(length + alignment / size), pinned: true);
#else
        // Arrays here are zeroed as they are allocated, which would write the pages before any advice and the
        // huge-page slack along with them: cache lines only.
        const int alignment = LineBytes;
        var array = new T[checked(length + alignment / size)];
#endif
        GCHandle handle = GCHandle.Alloc(array, GCHandleType.Pinned);
        long address = handle.AddrOfPinnedObject().ToInt64();
        handle.Free();
        // Arrays start at least 8-byte aligned, so the distance to the next boundary is a whole number of elements.
        int skip = (int)((alignment - address % alignment) % alignment) / size;
#if NET5_0_OR_GREATER
        if (alignment == HugePages.PageBytes) HugePages.Advise(new IntPtr(address + (long)skip * size), bytes);
#endif
        return new ArraySegment<T>(array, skip, length);
    }
}
