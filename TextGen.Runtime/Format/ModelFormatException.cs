namespace TextGen.Runtime.Format;

/// <summary>
/// The one exception a weight file can cause: the file is missing, unreadable, malformed, hostile or
/// inconsistent. The message names the file and says what is wrong and where.
/// </summary>
public sealed class ModelFormatException : Exception
{
    /// <summary>Creates the exception for <paramref name="source"/> (a path or an asset name).</summary>
    public ModelFormatException(string source, string problem, Exception? inner = null)
        : base($"{source}: {problem}", inner)
    {
        FileName = source;
        Problem = problem;
    }

    /// <summary>
    /// Creates the exception for a problem found at <paramref name="byteOffset"/> while reading the value at
    /// <paramref name="keyPath"/> (e.g. <c>tensors[2].shape[0]</c>; empty for the top-level map).
    /// </summary>
    public ModelFormatException(string source, string keyPath, long byteOffset, string problem, Exception? inner = null)
        : this(source, Locate(keyPath, byteOffset, problem), inner)
    {
        KeyPath = keyPath;
        ByteOffset = byteOffset;
    }

    /// <summary>The file path or asset name the problem was found in.</summary>
    public string FileName { get; }

    /// <summary>What is wrong, without the source prefix.</summary>
    public string Problem { get; }

    /// <summary>Where in the document the problem is, e.g. <c>architecture.vocabulary[3]</c>; null when it concerns the file as a whole.</summary>
    public string? KeyPath { get; }

    /// <summary>Offset from the start of the file of the value at fault; null when it concerns the file as a whole.</summary>
    public long? ByteOffset { get; }

    private static string Locate(string keyPath, long byteOffset, string problem) => keyPath.Length == 0
        ? $"{problem} (at byte {byteOffset})"
        : $"{keyPath}: {problem} (at byte {byteOffset})";
}
