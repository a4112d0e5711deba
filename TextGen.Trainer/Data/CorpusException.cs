namespace TextGen.Trainer.Data;

/// <summary>A training text that cannot be used: missing, unreadable, not UTF-8 text, or too short.</summary>
internal sealed class CorpusException : Exception
{
    /// <summary>Creates the exception; the message is "<paramref name="path"/>: <paramref name="problem"/>".</summary>
    public CorpusException(string path, string problem, Exception? inner = null)
        : base($"{path}: {problem}", inner)
    {
    }
}
