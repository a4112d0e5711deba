using TextGen.Runtime.Model;

namespace TextGen.Runtime.Sampling;

/// <summary>
/// How the next character is drawn from the model's scores. Immutable; every property is validated when it is set,
/// so an invalid value fails where it is written. Characters are filtered first, then the temperature reshapes the
/// distribution, then top-k and top-p cut it, then one character is drawn.
/// </summary>
public sealed record SamplingOptions
{
    private readonly double _temperature = 1.0;
    private readonly int _topK;
    private readonly double _topP = 1.0;
    private readonly string? _allowedCharacters;
    private readonly string _bannedCharacters = string.Empty;

    /// <summary>
    /// Divides the logits before the softmax: 1 samples the model's own distribution, below 1 is more predictable,
    /// above 1 more surprising. 0 always takes the most likely character (argmax; ties go to the lowest token id) and
    /// draws no random number. Finite and ≥ 0; default 1.
    /// </summary>
    /// <exception cref="ArgumentException">NaN, infinite or negative.</exception>
    public double Temperature
    {
        get => _temperature;
        init => _temperature = double.IsFinite(value) && value >= 0
            ? value
            : throw new ArgumentException($"temperature must be a finite number ≥ 0, not {value}", nameof(Temperature));
    }

    /// <summary>Keeps only the <c>k</c> most likely characters (ties: lower token id first). 0, the default, keeps all.</summary>
    /// <exception cref="ArgumentException">Negative.</exception>
    public int TopK
    {
        get => _topK;
        init => _topK = value >= 0 ? value : throw new ArgumentException($"top-k must be ≥ 0 (0 = off), not {value}", nameof(TopK));
    }

    /// <summary>
    /// Nucleus sampling: keeps the smallest set of most likely characters whose probabilities (after top-k) add up to
    /// at least this fraction. In (0, 1]; 1, the default, keeps all. A tiny value keeps only the most likely character.
    /// </summary>
    /// <exception cref="ArgumentException">NaN or outside (0, 1].</exception>
    public double TopP
    {
        get => _topP;
        init => _topP = value > 0 && value <= 1
            ? value
            : throw new ArgumentException($"top-p must be in (0, 1] (1 = off), not {value}", nameof(TopP));
    }

    /// <summary>
    /// When set, only these characters can be generated; characters not in the model's vocabulary are ignored. Null,
    /// the default, allows the whole vocabulary. Must not be empty or hold a lone surrogate.
    /// </summary>
    /// <exception cref="ArgumentException">Empty, or holds a lone surrogate.</exception>
    public string? AllowedCharacters
    {
        get => _allowedCharacters;
        init
        {
            if (value is not null && value.Length == 0) throw new ArgumentException("allowed characters must not be empty (null allows all)", nameof(AllowedCharacters));
            _allowedCharacters = value is null ? null : WellFormed(value, nameof(AllowedCharacters));
        }
    }

    /// <summary>Characters that are never generated (a banned character also listed as allowed stays banned). Default none.</summary>
    /// <exception cref="ArgumentException">Null, or holds a lone surrogate.</exception>
    public string BannedCharacters
    {
        get => _bannedCharacters;
        init => _bannedCharacters = WellFormed(value ?? throw new ArgumentException("banned characters must not be null", nameof(BannedCharacters)), nameof(BannedCharacters));
    }

    private static string WellFormed(string value, string name)
        => Utf16.IsWellFormed(value.AsSpan()) ? value : throw new ArgumentException("the text holds a lone surrogate, which is not a character", name);
}
