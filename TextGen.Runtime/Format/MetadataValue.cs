using System.Globalization;

namespace TextGen.Runtime.Format;

/// <summary>A metadata value in a weight file: a string or a number (stored as float64).</summary>
public readonly struct MetadataValue : IEquatable<MetadataValue>
{
    private readonly string? _text;
    private readonly double _number;

    private MetadataValue(string? text, double number)
    {
        _text = text;
        _number = number;
    }

    /// <summary>A string value.</summary>
    public static MetadataValue FromString(string text) => new(text ?? throw new ArgumentNullException(nameof(text)), 0);

    /// <summary>A numeric value.</summary>
    public static MetadataValue FromNumber(double number) => new(null, number);

    /// <summary>True when the value is a string.</summary>
    public bool IsString => _text is not null;

    /// <summary>The string, or throws when the value is a number.</summary>
    public string String => _text ?? throw new InvalidOperationException("metadata value is a number, not a string");

    /// <summary>The number, or throws when the value is a string.</summary>
    public double Number => _text is null ? _number : throw new InvalidOperationException("metadata value is a string, not a number");

    /// <inheritdoc />
    public override string ToString() => _text ?? _number.ToString("R", CultureInfo.InvariantCulture);

    /// <inheritdoc />
    public bool Equals(MetadataValue other) => _text is null
        ? other._text is null && _number.Equals(other._number)
        : string.Equals(_text, other._text, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is MetadataValue other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => _text?.GetHashCode() ?? _number.GetHashCode();

    /// <summary>Value equality.</summary>
    public static bool operator ==(MetadataValue left, MetadataValue right) => left.Equals(right);

    /// <summary>Value inequality.</summary>
    public static bool operator !=(MetadataValue left, MetadataValue right) => !left.Equals(right);

    /// <summary>Implicit string conversion, for building metadata tables.</summary>
    public static implicit operator MetadataValue(string text) => FromString(text);

    /// <summary>Implicit number conversion, for building metadata tables.</summary>
    public static implicit operator MetadataValue(double number) => FromNumber(number);
}
