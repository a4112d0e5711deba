namespace TextGen.Runtime.Generation;

/// <summary>
/// Bytes given to <see cref="TextGenerator.RestoreState"/> are not a state this generator can take: corrupted,
/// truncated, from another format version, or saved with a different model.
/// </summary>
public sealed class GeneratorStateException : Exception
{
    internal GeneratorStateException(string problem)
        : base("Cannot restore the generator state: " + problem)
    {
        Problem = problem;
    }

    /// <summary>What is wrong, without the common prefix.</summary>
    public string Problem { get; }
}
