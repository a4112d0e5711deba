namespace TextGen.Trainer.Checkpoints;

/// <summary>
/// <c>DIR/.lock</c>, held open with an exclusive lock while a process trains the run in DIR, so that a second
/// <c>train</c> or <c>resume</c> of the same directory stops with a clear error instead of interleaving its checkpoints
/// with the first one's (and its tidying deleting the first one's temporary files). The operating system drops the
/// lock when the process ends, however it ends, so a killed run never leaves a stale lock; the empty file stays.
/// </summary>
internal sealed class RunLock : IDisposable
{
    /// <summary>File name inside a run directory.</summary>
    public const string FileName = ".lock";

    private readonly FileStream? _file;

    private RunLock(FileStream? file) => _file = file;

    /// <summary>Takes the lock of the run in <paramref name="runDirectory"/>, which must exist.</summary>
    /// <returns>The lock; one that is not <see cref="IsHeld"/> where the lock file cannot be opened (a read-only directory without one).</returns>
    /// <exception cref="CheckpointException">Another process (or this one) holds it.</exception>
    public static RunLock Take(string runDirectory)
    {
        string path = Path.Combine(runDirectory, FileName);
        try
        {
            // FileShare.None is an exclusive flock on Unix and a sharing lock on Windows. Read access is enough for
            // either, so a lock file another user created, or a read-only one, still locks.
            return new RunLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.Read, FileShare.None));
        }
        catch (IOException e) when (IsHeldElsewhere(e))
        {
            throw new CheckpointException(runDirectory, $"another process is training this run ({FileName} is locked); wait for it to finish or stop it, then resume");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A directory where even an empty file cannot be created takes no checkpoint either: the run's first
            // write fails with the error that names the cause, as it did before runs were locked. Unlocked, a
            // resume deletes nothing (IsHeld).
            return new RunLock(null);
        }
    }

    // EWOULDBLOCK from flock (11 on Linux, 35 on macOS and BSD); ERROR_SHARING_VIOLATION or ERROR_LOCK_VIOLATION on Windows.
    private static bool IsHeldElsewhere(IOException e)
        => e.GetType() == typeof(IOException) && e.HResult is 11 or 35 or unchecked((int)0x80070020) or unchecked((int)0x80070021);

    /// <summary>Whether this process holds the lock: false when the lock file could not be opened at all.</summary>
    public bool IsHeld => _file is not null;

    /// <summary>Releases the lock.</summary>
    public void Dispose() => _file?.Dispose();
}
