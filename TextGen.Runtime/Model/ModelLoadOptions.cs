namespace TextGen.Runtime.Model;

/// <summary>How <see cref="TextModel"/> loads a weight file. Immutable; the defaults suit a game.</summary>
public sealed class ModelLoadOptions
{
    /// <summary>
    /// True (the default): thread-pool threads compute the weights' SHA-256 (<c>tensor_sha256</c>) while the loading
    /// thread parses, copies and checks them and builds the model; the loading thread then hashes whatever is left
    /// with them. A format 2 file gets one helper per MiB, at most one fewer than the cores and at most 7; a format 1
    /// file, whose digest is one sequential pass, gets one. A load never waits for the pool: work no helper has taken
    /// by the time the loading thread is done, it does itself. False keeps all the work on the calling thread. The
    /// checks and the loaded model are the same either way.
    /// </summary>
    public bool UseHelperThread { get; init; } = true;
}
