namespace TextGen.Runtime.Model;

/// <summary>Unicode scalar values in UTF-16 text: the vocabulary holds scalars, .NET strings hold UTF-16 units.</summary>
internal static class Utf16
{
    /// <summary>
    /// The scalar starting at <paramref name="index"/> and its length in units (1, or 2 for a surrogate pair).
    /// A lone surrogate is returned as its own code unit value with length 1; it is not a scalar value.
    /// </summary>
    public static int ReadScalar(ReadOnlySpan<char> text, int index, out int length)
    {
        char unit = text[index];
        if (char.IsHighSurrogate(unit) && index + 1 < text.Length && char.IsLowSurrogate(text[index + 1]))
        {
            length = 2;
            return char.ConvertToUtf32(unit, text[index + 1]);
        }
        length = 1;
        return unit;
    }

    /// <summary>True unless <paramref name="text"/> holds a lone surrogate.</summary>
    public static bool IsWellFormed(ReadOnlySpan<char> text)
    {
        for (int i = 0; i < text.Length;)
        {
            int scalar = ReadScalar(text, i, out int length);
            if (length == 1 && char.IsSurrogate((char)scalar)) return false;
            i += length;
        }
        return true;
    }

    /// <summary>Writes <paramref name="scalar"/> as one or two units; returns how many.</summary>
    public static int Encode(int scalar, Span<char> destination)
    {
        if (scalar < 0x10000)
        {
            destination[0] = (char)scalar;
            return 1;
        }
        int offset = scalar - 0x10000;
        destination[0] = (char)(0xD800 + (offset >> 10));
        destination[1] = (char)(0xDC00 + (offset & 0x3FF));
        return 2;
    }
}
