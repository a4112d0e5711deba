using System.CommandLine;
using System.CommandLine.Parsing;

namespace TextGen.CommandLine;

/// <summary>
/// One line per command-line parse error, naming the option it concerns and, for a value that did not convert, what
/// the option takes. System.CommandLine's own text omits the option for a rejected value ("Argument 'foo' not
/// recognized") and names .NET types for a conversion ("as expected type 'System.Nullable`1[System.Int64]'").
/// The trainer, the demo (as linked source, so that it still depends on the Runtime alone) and the benchmark tool
/// all print their parse errors through it.
/// </summary>
internal static class ParseErrorText
{
    /// <summary>The user's words for <paramref name="error"/>.</summary>
    public static string Describe(ParseError error)
    {
        for (var result = error.SymbolResult; result is not null; result = result.Parent)
        {
            if (result is not OptionResult option) continue;
            string name = option.Option.Name;
            TypeCode type = Type.GetTypeCode(Nullable.GetUnderlyingType(option.Option.ValueType) ?? option.Option.ValueType);
            if (Takes(type) is string takes && option.Tokens.Select(t => t.Value).FirstOrDefault(value => !Converts(value, type)) is string token)
            {
                return $"{name} takes {takes}, not '{token}'";
            }
            return error.Message.Contains(name, StringComparison.Ordinal) ? error.Message : $"{name}: {error.Message}";
        }
        return error.Message;
    }

    // What a number-typed option accepts, in words; null for other types, whose own messages already say it.
    private static string? Takes(TypeCode type) => type switch
    {
        TypeCode.Int32 => $"a whole number up to {int.MaxValue}",
        TypeCode.Int64 => $"a whole number up to {long.MaxValue}",
        TypeCode.UInt64 => $"a whole number from 0 to {ulong.MaxValue}",
        TypeCode.Single or TypeCode.Double => "a number",
        _ => null,
    };

    // Whether System.CommandLine converts the text to the type: it calls each type's TryParse with its defaults.
    private static bool Converts(string text, TypeCode type) => type switch
    {
        TypeCode.Int32 => int.TryParse(text, out _),
        TypeCode.Int64 => long.TryParse(text, out _),
        TypeCode.UInt64 => ulong.TryParse(text, out _),
        TypeCode.Single => float.TryParse(text, out _),
        TypeCode.Double => double.TryParse(text, out _),
        _ => true,
    };
}
