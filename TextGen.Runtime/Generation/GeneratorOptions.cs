using TextGen.Runtime.Format;
using TextGen.Runtime.Kernels;
using TextGen.Runtime.Model;
using TextGen.Runtime.Sampling;

namespace TextGen.Runtime.Generation;

/// <summary>
/// Everything that shapes one generator's text besides the model. Immutable; every property is validated when set.
/// The same model, options and seed give the same text every run.
/// </summary>
public sealed record GeneratorOptions
{
    /// <summary>Longest stop string accepted.</summary>
    public const int MaxStopStringLength = 256;

    /// <summary>Most stop strings accepted.</summary>
    public const int MaxStopStrings = 64;

    private readonly SamplingOptions _sampling = new();
    private readonly int? _maxLength;
    private readonly IReadOnlyList<string> _stopStrings = Array.AsReadOnly(Array.Empty<string>());
    private readonly UnknownCharacterHandling _unknownCharacters;
    private readonly int _replacementCharacter = ' ';

    /// <summary>How each character is drawn: temperature, top-k, top-p, allowed and banned characters.</summary>
    /// <exception cref="ArgumentException">Null.</exception>
    public SamplingOptions Sampling
    {
        get => _sampling;
        init => _sampling = value ?? throw new ArgumentException("sampling options must not be null", nameof(Sampling));
    }

    /// <summary>
    /// Seeds the project's PCG32 random generator: the same seed gives the same text on every machine (with
    /// <see cref="StrictDeterminism"/>) or every run on one machine. Default 0; pass e.g. the game's own random
    /// number for variety.
    /// </summary>
    public ulong Seed { get; init; }

    /// <summary>
    /// Most characters (Unicode scalars; one outside the BMP counts once) generated after each
    /// <see cref="TextGenerator.Prime(ReadOnlySpan{char})"/> or <see cref="TextGenerator.Reset"/>; null, the default,
    /// means no limit.
    /// </summary>
    /// <exception cref="ArgumentException">Negative.</exception>
    public int? MaxLength
    {
        get => _maxLength;
        init => _maxLength = value is null || value >= 0 ? value : throw new ArgumentException($"max length must be ≥ 0 or null, not {value}", nameof(MaxLength));
    }

    /// <summary>
    /// Generation ends when the text generated since the last prime ends with one of these. The stop string itself is
    /// not output (characters that might begin one are held back until they cannot). Each is non-empty,
    /// well-formed UTF-16 and at most <see cref="MaxStopStringLength"/> chars; at most <see cref="MaxStopStrings"/>.
    /// The list is copied.
    /// </summary>
    /// <exception cref="ArgumentException">Null, too many, or a stop string is null, empty, too long or holds a lone surrogate.</exception>
    public IReadOnlyList<string> StopStrings
    {
        get => _stopStrings;
        init => _stopStrings = CheckStopStrings(value);
    }

    /// <summary>What priming does with characters outside the vocabulary. Default <see cref="UnknownCharacterHandling.Throw"/>.</summary>
    /// <exception cref="ArgumentException">Not a defined value.</exception>
    public UnknownCharacterHandling UnknownCharacters
    {
        get => _unknownCharacters;
        init => _unknownCharacters = Enum.IsDefined(typeof(UnknownCharacterHandling), value)
            ? value
            : throw new ArgumentException($"unknown-character handling {(int)value} is not defined", nameof(UnknownCharacters));
    }

    /// <summary>
    /// The Unicode scalar fed in place of an unknown character under <see cref="UnknownCharacterHandling.Replace"/>
    /// (a <c>char</c> converts implicitly). It must be in the model's vocabulary, which creating the generator
    /// checks. Default space.
    /// </summary>
    /// <exception cref="ArgumentException">Not a Unicode scalar value.</exception>
    public int ReplacementCharacter
    {
        get => _replacementCharacter;
        init => _replacementCharacter = ModelArchitecture.IsUnicodeScalar(value)
            ? value
            : throw new ArgumentException($"replacement 0x{value:X} is not a Unicode scalar value", nameof(ReplacementCharacter));
    }

    /// <summary>
    /// Same text on every CPU, kernel path and target framework, not only on this machine: products are rounded
    /// before they are summed (no fused multiply-add), and every sum runs in one fixed order (16 fixed lanes and a
    /// fixed pairwise tree, whatever the vector width). Both modes share the project's own exp, sigmoid and tanh. Fast
    /// mode may fuse, and for q8 files with block scales the AVX-512 kernel adds the two blocks of each 64-byte load
    /// in separate lanes. The cost is within run-to-run noise for the shipped model in f32 and f16, and about a third
    /// of the speed for q8 with block scales (README, Determinism); q8 with row scales (what the exporter writes) sums
    /// whole rows exactly in integers and is the same bits in either mode, at no cost. Default false: the fast mode
    /// still gives the same text on every run on one machine.
    /// </summary>
    /// <remarks>
    /// The guarantee assumes the runtime evaluates float operations in IEEE single precision without contracting a
    /// multiply and an add into one (CoreCLR and NativeAOT do both). A runtime that computes floats in double
    /// precision, or a C++ compiler (IL2CPP) allowed to contract, can still differ in the last bits.
    /// </remarks>
    public bool StrictDeterminism { get; init; }

    /// <summary>Forces a kernel path instead of the fastest available one; the tests run every path through it.</summary>
    internal KernelPath? KernelPath { get; init; }

    private static IReadOnlyList<string> CheckStopStrings(IReadOnlyList<string> value)
    {
        if (value is null) throw new ArgumentException("stop strings must not be null (use an empty list)", nameof(StopStrings));
        if (value.Count > MaxStopStrings) throw new ArgumentException($"{value.Count} stop strings exceed the limit of {MaxStopStrings}", nameof(StopStrings));
        var copy = new string[value.Count];
        for (int i = 0; i < copy.Length; i++)
        {
            string s = value[i];
            if (string.IsNullOrEmpty(s)) throw new ArgumentException($"stop string {i} is null or empty", nameof(StopStrings));
            if (s.Length > MaxStopStringLength) throw new ArgumentException($"stop string {i} has {s.Length} chars, more than {MaxStopStringLength}", nameof(StopStrings));
            if (!Utf16.IsWellFormed(s.AsSpan())) throw new ArgumentException($"stop string {i} holds a lone surrogate", nameof(StopStrings));
            copy[i] = s;
        }
        return Array.AsReadOnly(copy);
    }
}
