using System.Runtime.InteropServices;

namespace TextGen.Trainer.Native;

/// <summary>
/// libtorch's OpenMP worker threads busy-wait at every barrier by default. When another program holds one of the
/// cores, a spinning thread burns its time slice waiting for a thread that is not running, and a two-thread
/// training step got 30 times slower here (1.3k instead of 38.8k chars/s for a tiny LSTM). Passive waiting puts
/// idle workers to sleep instead; the cost on an idle machine is measured by the trainer-throughput benchmark.
/// </summary>
internal static class OpenMpWaitPolicy
{
    private const string Variable = "OMP_WAIT_POLICY";

    /// <summary>
    /// Asks OpenMP for passive waiting unless the user chose a policy. Must run before libtorch loads, because
    /// libgomp reads its environment once, when it is loaded.
    /// </summary>
    public static void PreferPassive()
    {
        // Environment.SetEnvironmentVariable only changes .NET's own copy on Unix; native code reads libc's.
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS()) SetEnv(Variable, "PASSIVE", overwrite: 0);
    }

    [DllImport("libc", EntryPoint = "setenv")]
    private static extern int SetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);
}
