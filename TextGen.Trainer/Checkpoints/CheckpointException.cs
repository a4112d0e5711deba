namespace TextGen.Trainer.Checkpoints;

/// <summary>A checkpoint that cannot be written or read; the message names the directory and the problem.</summary>
internal sealed class CheckpointException : Exception
{
    /// <summary>Creates the exception; the message is "<paramref name="path"/>: <paramref name="problem"/>".</summary>
    public CheckpointException(string path, string problem, Exception? inner = null)
        : base($"{path}: {problem}", inner)
    {
    }
}
