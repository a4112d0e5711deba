namespace TextGen.Trainer.Checkpoints;

/// <summary>
/// Words for the file-system failures a user can fix: a full disk, a read-only mount, a denied path. .NET reports
/// ENOSPC and EROFS as a plain <see cref="IOException"/> whose HResult is the errno, and EACCES/EPERM as
/// <see cref="UnauthorizedAccessException"/>; its own message names the file, which is kept.
/// </summary>
internal static class FileSystemError
{
    private const int NoSpaceLeft = 28; // ENOSPC
    private const int ReadOnlyFileSystem = 30; // EROFS

    /// <summary>The failure with its cause in plain words first, e.g. "the disk is full (No space left on device : '/run/x')".</summary>
    public static string Describe(Exception e) => e switch
    {
        IOException { HResult: NoSpaceLeft } => $"the disk is full ({e.Message})",
        IOException { HResult: ReadOnlyFileSystem } => $"the file system is read-only ({e.Message})",
        UnauthorizedAccessException => $"access denied ({e.Message})",
        _ => e.Message,
    };
}
