namespace TextGen.Runtime.Model;

/// <summary>How <see cref="TextModel"/> loads a weight file. Immutable; the defaults suit a game.</summary>
public sealed class ModelLoadOptions
{
    /// <summary>
    /// True (the default): one thread-pool thread computes the weights' SHA-256 (<c>tensor_sha256</c>) while the
    /// loading thread parses, copies and checks them and builds the model, which roughly halves the load of a model of megabytes. Never
    /// more than one helper per load, and a load never waits for the pool: when no pool thread has started by the
    /// time the loading thread is done, it hashes the rest itself. False keeps all the work on the calling thread.
    /// The checks and the loaded model are the same either way.
    /// </summary>
    public bool UseHelperThread { get; init; } = true;
}
