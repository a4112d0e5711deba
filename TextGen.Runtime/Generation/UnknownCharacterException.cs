using System.Globalization;

namespace TextGen.Runtime.Generation;

/// <summary>Text given to a generator holds a character that is not in the model's vocabulary.</summary>
public sealed class UnknownCharacterException : Exception
{
    internal UnknownCharacterException(int codePoint, int position)
        : this(Describe(codePoint, position), codePoint, position)
    {
    }

    /// <summary>The same, found in cue <paramref name="cue"/> of a <see cref="GeneratorBatch.Prime"/>, which the message names.</summary>
    internal UnknownCharacterException(int codePoint, int position, int cue)
        : this($"Cue {cue}: {Describe(codePoint, position)}", codePoint, position)
    {
    }

    private UnknownCharacterException(string message, int codePoint, int position)
        : base(message)
    {
        CodePoint = codePoint;
        Position = position;
    }

    /// <summary>The character's Unicode code point (for a lone surrogate, the surrogate's code unit).</summary>
    public int CodePoint { get; }

    /// <summary>Index of the character's first UTF-16 unit in the text (in a batch's prime, in its cue).</summary>
    public int Position { get; }

    private static string Describe(int codePoint, int position)
    {
        string code = "U+" + codePoint.ToString("X4", CultureInfo.InvariantCulture);
        if (codePoint >= 0xD800 && codePoint <= 0xDFFF) return $"The lone surrogate {code} at position {position} is not a character; the text is not well-formed UTF-16.";
        string shown = char.IsControl((char)Math.Min(codePoint, 0xFFFF)) ? string.Empty : $"'{char.ConvertFromUtf32(codePoint)}' ";
        return $"The character {shown}({code}) at position {position} is not in the model's vocabulary.";
    }
}
