namespace TextGen.Tests.Support;

/// <summary>
/// The file problems every command-line file input must name in its message: a missing file, a directory, a file
/// whose read fails, an empty file. Made real for a test process that runs as root, which permissions do not stop.
/// </summary>
internal static class UnusableFiles
{
    /// <summary>A path in <paramref name="directory"/> with the problem <paramref name="kind"/>: missing, directory, unreadable or empty.</summary>
    public static string Create(string directory, string kind) => kind switch
    {
        "missing" => Path.Combine(directory, "absent.file"),
        "directory" => directory,
        // chmod 000 does not stop root, and a FIFO without a writer would hang the test. Reading one's own memory at
        // address 0 fails with EIO for every user, so this file opens and then its read fails, as a bad disk's would.
        // Elsewhere the path would not exist and the case would quietly test a missing file again, so it fails instead.
        "unreadable" => OperatingSystem.IsLinux() ? "/proc/self/mem" : throw new PlatformNotSupportedException("an unreadable file is made from /proc/self/mem, which only Linux has"),
        "empty" => Empty(Path.Combine(directory, "empty.file")),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a kind of unusable file"),
    };

    /// <summary>
    /// What a model-file load says of the problem <paramref name="kind"/> (after "PATH: "). The "unreadable" file is
    /// refused before any read, because /proc files show size 0 like pipes and devices do (a FIFO would block the open);
    /// a read that fails partway is tested on a failing stream (StreamedLoadTests).
    /// </summary>
    public static string ModelFileProblem(string kind) => kind switch
    {
        "missing" => "the file does not exist",
        "directory" => "the path is a directory, not a model file",
        "unreadable" or "empty" => "the file's size is 0 bytes: it is empty, or a pipe or device, not a model file",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a kind of unusable file"),
    };

    private static string Empty(string path)
    {
        File.WriteAllBytes(path, []);
        return path;
    }
}
