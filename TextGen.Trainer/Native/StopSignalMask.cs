using System.Runtime.InteropServices;

namespace TextGen.Trainer.Native;

/// <summary>
/// Keeps SIGINT and SIGTERM off the training thread and off the libtorch worker threads it starts, which inherit its
/// signal mask. A process-directed signal interrupts some thread that does not block it. When that was the training
/// thread, inside libtorch's kernels, glibc found the heap corrupted in 3 of 12 interrupted runs (2×64 LSTM, batch 16,
/// sequence 64, SIGINT 2.2 s in: "corrupted size vs. prev_size while consolidating", SIGABRT from <c>free</c> under the
/// LSTM backward pass, no checkpoint written); with the signals blocked there, 0 of 14. The runtime's own threads
/// started before this call (its finalizer, its signal thread) still take the signals and raise Ctrl+C and
/// <see cref="PosixSignalRegistration"/> as before, so the stop is still seen at the next step boundary.
/// </summary>
internal static class StopSignalMask
{
    private const int SigInt = 2;
    private const int SigTerm = 15;
    private const int SigBlock = 0;       // Linux's SIG_BLOCK
    private const int SigSetBytes = 128;  // glibc's sigset_t; the functions below fill it, so only its size matters

    /// <summary>Blocks SIGINT and SIGTERM on the calling thread, on Linux; call it before libtorch creates any thread.</summary>
    public static void BlockOnThisThread()
    {
        if (!OperatingSystem.IsLinux()) return;
        var set = new byte[SigSetBytes];
        if (SigEmptySet(set) != 0 || SigAddSet(set, SigInt) != 0 || SigAddSet(set, SigTerm) != 0) throw new InvalidOperationException("sigemptyset/sigaddset failed");
        int error = PthreadSigMask(SigBlock, set, IntPtr.Zero);
        if (error != 0) throw new InvalidOperationException($"pthread_sigmask failed with error {error}");
    }

    [DllImport("libc", EntryPoint = "sigemptyset")]
    private static extern int SigEmptySet(byte[] set);

    [DllImport("libc", EntryPoint = "sigaddset")]
    private static extern int SigAddSet(byte[] set, int signal);

    [DllImport("libc", EntryPoint = "pthread_sigmask")]
    private static extern int PthreadSigMask(int how, byte[] set, IntPtr oldSet);
}
