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

    /// <summary>The file path or asset name the problem was found in.</summary>
    public string FileName { get; }

    /// <summary>What is wrong, without the source prefix.</summary>
    public string Problem { get; }
}
