using System.Runtime.CompilerServices;

namespace TextGen.Tests.Support;

/// <summary>
/// Bytes the current thread allocates while an action runs, for the allocation tests. The counter is read in a
/// method of its own that the JIT may not inline, so nothing the caller prepares can be moved into the window: a
/// test once counted the boxed argument of the assertion after its loop, which the JIT had hoisted between the two
/// readings. The action's closure is allocated by the caller, before the window opens.
/// </summary>
internal static class ThreadAllocations
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static long During(Action action)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        action();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
