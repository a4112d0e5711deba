namespace TextGen.Runtime.Evaluation;

/// <summary>The cross-entropy of a model on a text, from <see cref="TextEvaluator.Evaluate(Model.TextModel, ReadOnlySpan{char}, bool)"/>.</summary>
public sealed class TextEvaluation
{
    internal TextEvaluation(double totalNats, long charactersScored, long unknownCharactersSkipped)
    {
        TotalNats = totalNats;
        CharactersScored = charactersScored;
        UnknownCharactersSkipped = unknownCharactersSkipped;
    }

    /// <summary>Sum over scored characters of −ln p(character | text before it), in nats.</summary>
    public double TotalNats { get; }

    /// <summary>Characters whose probability was scored.</summary>
    public long CharactersScored { get; }

    /// <summary>Characters outside the vocabulary, neither scored nor fed to the model.</summary>
    public long UnknownCharactersSkipped { get; }

    /// <summary>Mean loss per scored character in nats (the trainer's cross-entropy loss); NaN when nothing was scored.</summary>
    public double NatsPerCharacter => CharactersScored == 0 ? double.NaN : TotalNats / CharactersScored;

    /// <summary>Mean loss per scored character in bits.</summary>
    public double BitsPerCharacter => NatsPerCharacter / Math.Log(2);
}
