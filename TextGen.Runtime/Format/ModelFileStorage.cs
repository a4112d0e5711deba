namespace TextGen.Runtime.Format;

/// <summary>
/// Moves weight-file bytes between storage and memory: bounded reads from streams and disk that turn every I/O
/// failure into a <see cref="ModelFormatException"/>, and atomic writes that never leave a half-written model behind.
/// </summary>
internal static class ModelFileStorage
{
    private const int UnknownLengthFirstBuffer = 64 * 1024;

    /// <summary>Reads <paramref name="stream"/> from its position to its end, refusing more than <paramref name="maxBytes"/>.</summary>
    public static ReadOnlyMemory<byte> ReadStream(Stream stream, string source, int maxBytes)
    {
        if (stream is null) throw new ArgumentNullException(nameof(stream));
        try
        {
            if (!stream.CanRead) throw new ModelFormatException(source, "the stream is not readable");

            // A seekable stream says how much is coming, so an oversized asset is refused before reading it and the
            // buffer is allocated once. Otherwise the buffer grows as data arrives, and reading stops one byte past the limit.
            long announced = stream.CanSeek ? stream.Length - stream.Position : -1;
            if (announced > maxBytes) throw TooLarge(source, announced, maxBytes);

            // Only the bytes read are ever exposed (the memory returned ends at `filled`), so the buffer needs no zeroing.
            byte[] buffer = UninitializedArray.Create<byte>((int)(announced >= 0 ? announced + 1 : Math.Min(UnknownLengthFirstBuffer, maxBytes + 1L)));
            int filled = 0;
            while (true)
            {
                if (filled == buffer.Length)
                {
                    if (filled > maxBytes) throw TooLarge(source, filled, maxBytes);
                    Array.Resize(ref buffer, (int)Math.Min(2L * buffer.Length, maxBytes + 1L));
                }
                int read = stream.Read(buffer, filled, buffer.Length - filled);
                if (read == 0) break;
                filled += read;
            }
            if (filled > maxBytes) throw TooLarge(source, filled, maxBytes);
            return new ReadOnlyMemory<byte>(buffer, 0, filled);
        }
        catch (Exception e) when (IsReadFailure(e))
        {
            throw ReadFailure(source, e);
        }
    }

    /// <summary>True for the exceptions a failing, closed or unsuitable stream throws from a read.</summary>
    public static bool IsReadFailure(Exception e) => e is IOException or UnauthorizedAccessException or NotSupportedException or ObjectDisposedException;

    /// <summary>The error for a read that failed with <paramref name="e"/> (<see cref="IsReadFailure"/>).</summary>
    public static ModelFormatException ReadFailure(string source, Exception e) => new(source, $"cannot read the stream: {e.Message}", e);

    /// <summary>Reads the file at <paramref name="path"/>, refusing more than <paramref name="maxBytes"/>.</summary>
    public static ReadOnlyMemory<byte> ReadFile(string path, int maxBytes)
    {
        using FileStream stream = OpenFile(path);
        return ReadStream(stream, path, maxBytes);
    }

    /// <summary>
    /// Opens the file at <paramref name="path"/> for unbuffered sequential reading. A path whose size is 0 is refused
    /// before it is opened: an empty file holds no model, and a FIFO (which also shows size 0) would block the open
    /// until some other process wrote to it, so the load would hang instead of failing.
    /// </summary>
    public static FileStream OpenFile(string path)
    {
        if (path is null) throw new ArgumentNullException(nameof(path));
        if (path.Length == 0) throw new ModelFormatException("(empty path)", "no model file was named: the path is an empty string");
        try
        {
            if (Directory.Exists(path)) throw new ModelFormatException(path, "the path is a directory, not a model file");
            var file = new FileInfo(path);
            if (file.Exists && file.Length == 0) throw new ModelFormatException(path, "the file's size is 0 bytes: it is empty, or a pipe or device, not a model file");
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        }
        catch (FileNotFoundException e)
        {
            throw new ModelFormatException(path, "the file does not exist", e);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new ModelFormatException(path, "the directory does not exist", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new ModelFormatException(path, $"access denied: {e.Message}", e);
        }
        catch (Exception e) when (e is IOException or ArgumentException or NotSupportedException)
        {
            throw new ModelFormatException(path, $"cannot open the file: {e.Message}", e);
        }
    }

    /// <summary>
    /// Writes <paramref name="bytes"/> to a temporary file beside <paramref name="path"/>, flushes it to disk, then
    /// renames it over <paramref name="path"/>, so readers see the old file or the new one, never a mix.
    /// </summary>
    public static void WriteFileAtomically(string path, byte[] bytes)
    {
        if (path is null) throw new ArgumentNullException(nameof(path));
        string target = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(target) ?? throw new IOException($"{path}: has no parent directory");
        string temporary = Path.Combine(directory, $"{TemporaryPrefix(target)}{Guid.NewGuid():N}{TemporarySuffix}");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(bytes, 0, bytes.Length);
                stream.Flush(flushToDisk: true);
            }
            if (File.Exists(target)) File.Replace(temporary, target, destinationBackupFileName: null);
            else File.Move(temporary, target);
        }
        catch
        {
            DeleteQuietly(temporary);
            throw;
        }
    }

    /// <summary>
    /// The temporary files of <see cref="WriteFileAtomically"/> for <paramref name="path"/> that exist now: a write in
    /// progress, or one abandoned by a process that was killed before its rename (no catch block runs on SIGKILL).
    /// </summary>
    public static string[] TemporariesOf(string path)
    {
        if (path is null) throw new ArgumentNullException(nameof(path));
        string target = Path.GetFullPath(path), prefix = TemporaryPrefix(target);
        string? directory = Path.GetDirectoryName(target);
        if (directory is null || !Directory.Exists(directory)) return Array.Empty<string>();
        // The pattern alone would also match a user's ".NAME.anything.tmp"; only a 32-digit hex GUID is ours.
        return Directory.GetFiles(directory, prefix + "*" + TemporarySuffix)
            .Where(file => HasGuidAfter(Path.GetFileName(file), prefix.Length))
            .ToArray();
    }

    /// <summary>
    /// Deletes the temporary files that killed writes of <paramref name="path"/> left behind. Call it only where no
    /// other process is writing <paramref name="path"/>: it cannot tell an abandoned write from a running one.
    /// </summary>
    public static void DeleteAbandonedTemporaries(string path)
    {
        foreach (string temporary in TemporariesOf(path)) File.Delete(temporary);
    }

    private const string TemporarySuffix = ".tmp";

    // Hidden (a leading dot) and named after the target, so a listing shows whose write it was.
    private static string TemporaryPrefix(string target) => $".{Path.GetFileName(target)}.";

    // Whether NAME is the prefix's `start` characters, 32 lowercase hex digits (a GUID's "N" form), then the suffix.
    private static bool HasGuidAfter(string name, int start)
    {
        const int GuidDigits = 32;
        if (name.Length != start + GuidDigits + TemporarySuffix.Length) return false;
        for (int i = start; i < start + GuidDigits; i++)
        {
            if (name[i] is not (>= '0' and <= '9' or >= 'a' and <= 'f')) return false;
        }
        return true;
    }

    // Cleanup after a failed write must not replace the exception that explains the failure.
    private static void DeleteQuietly(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>The error for a file over the size limit.</summary>
    public static ModelFormatException TooLarge(string source, long bytes, int maxBytes)
        => new(source, $"the file is larger than the {maxBytes}-byte limit (at least {bytes} bytes)");
}
