namespace TextGen.Runtime.Generation;

/// <summary>What <see cref="TextGenerator.Prime(ReadOnlySpan{char})"/> does with a character the model's vocabulary lacks.</summary>
public enum UnknownCharacterHandling
{
    /// <summary>Throw <see cref="UnknownCharacterException"/> before feeding anything (the default).</summary>
    Throw = 0,

    /// <summary>Leave the character out, as if the text did not contain it.</summary>
    Skip = 1,

    /// <summary>Feed <see cref="GeneratorOptions.ReplacementCharacter"/> in its place.</summary>
    Replace = 2,
}
