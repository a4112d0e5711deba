using System.Runtime.CompilerServices;

namespace TextGen.Tests.Support;

/// <summary>
/// Bytes the current thread allocates while an action runs, for the allocation tests. The counter is read in a
/// method of its own that the JIT may not inline, so nothing the caller prepares can be moved into the window: a
/// test once counted the boxed argument of the assertion after its loop, which the JIT had hoisted between the two
/// readings. The action's closure is allocated by the caller, before the window opens.
/// <para>The counter can also jump by part of the thread's 8 KB allocation context with nothing allocated: 680, 7,928
/// and 8,056 bytes were read in one of 20 identical calls of <c>GeneratorBatchTests.PrimeAllocatesNothing</c>, in
/// about one run in six, with no collection counted, and also without tiered compilation. Code that allocates does
/// so in every run of the action, so the action runs up to <see cref="Attempts"/> times and the least count is
/// returned; it stops at the first run that allocates nothing. An action must therefore do the same work each time it
/// runs (a counter it keeps is reset inside it), and a measured allocation must be one that every run makes: the tests
/// warm up first, so what they measure is the steady state.</para>
/// </summary>
internal static class ThreadAllocations
{
    private const int Attempts = 3;

    public static long During(Action action)
    {
        long least = long.MaxValue;
        for (int attempt = 0; attempt < Attempts && least > 0; attempt++) least = Math.Min(least, Once(action));
        return least;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long Once(Action action)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        action();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
