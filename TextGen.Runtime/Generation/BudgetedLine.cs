using System.Diagnostics;

namespace TextGen.Runtime.Generation;

/// <summary>
/// A line of text written over several frames of a game loop: a cue (the prompt, such as a speaker's name) is fed and
/// the line generated one model step at a time, and each frame spends at most its time budget on it, so the model
/// never costs a frame. The text depends only on the generator's model, seed and options, never on the budget: a
/// line written over many short frames equals one written in a single long one.
/// <para>
/// Create one per speaker (it owns its buffer) and reuse it for every line; after construction nothing allocates,
/// as long as the cue strings already exist.
/// </para>
/// </summary>
public sealed class BudgetedLine
{
    // Weight of the newest step in the running mean of a step's cost: a single slow step (a GC, a preemption) must
    // not stop the next frames from doing any work.
    private const int CostSmoothing = 8;

    private readonly char[] _text;
    private string _cue = string.Empty;
    private int _cueFed;   // UTF-16 units of the cue already fed
    private int _length;   // chars of _text generated
    private bool _ended;   // the generator ended the line or the buffer is full
    private long _stepTicks; // running mean cost of one step in Stopwatch ticks; 0 until a step was measured

    /// <param name="generator">The speaker's own generator; its options (stop strings, max length) end a line.</param>
    /// <param name="capacity">Most chars a line keeps; generation stops there if the generator has not ended the line.</param>
    /// <exception cref="ArgumentNullException"><paramref name="generator"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is less than 2 (a surrogate pair must fit).</exception>
    public BudgetedLine(TextGenerator generator, int capacity)
    {
        Generator = generator ?? throw new ArgumentNullException(nameof(generator));
        if (capacity < 2) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "a line holds at least 2 chars");
        _text = new char[capacity];
        _ended = true;
    }

    /// <summary>The generator that writes the line.</summary>
    public TextGenerator Generator { get; }

    /// <summary>The line generated so far (the cue is not part of it). Valid until the next <see cref="Begin"/>.</summary>
    public ReadOnlySpan<char> Text => _text.AsSpan(0, _length);

    /// <summary>True when the line is complete: the generator ended it or the capacity was reached.</summary>
    public bool IsComplete => _ended;

    /// <summary>The running mean time of one model step, as measured by <see cref="Advance"/>; zero before the first.</summary>
    public TimeSpan StepCost => TimeSpan.FromSeconds((double)_stepTicks / Stopwatch.Frequency);

    /// <summary>
    /// Starts a new line: <paramref name="cue"/> is fed first, one character per step (so a long cue is spread over
    /// frames too), continuing from the generator's current state, then the line is generated. Characters outside the
    /// vocabulary are handled as the generator's <see cref="GeneratorOptions.UnknownCharacters"/> says; when it says
    /// throw, the whole cue is checked here, before any of it is fed, so a refused cue changes neither the generator
    /// nor this line.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="cue"/> is null.</exception>
    /// <exception cref="UnknownCharacterException">The cue holds a character the model does not know and the generator's options say throw.</exception>
    public void Begin(string cue)
    {
        if (cue is null) throw new ArgumentNullException(nameof(cue));
        int unknownAt = Generator.IndexOfRefused(cue.AsSpan(), out int scalar);
        if (unknownAt >= 0) throw new UnknownCharacterException(scalar, unknownAt);
        _cue = cue;
        _cueFed = 0;
        _length = 0;
        _ended = false;
        if (_cue.Length == 0) Generator.Prime(ReadOnlySpan<char>.Empty); // a new generation starts even without a cue
    }

    /// <summary>
    /// One unit of model work: feeds the next character of the cue, or generates the next char of the line.
    /// Returns false, doing nothing, once the line is complete.
    /// </summary>
    public bool Step()
    {
        if (_ended) return false;
        if (_cueFed < _cue.Length)
        {
            int units = char.IsHighSurrogate(_cue[_cueFed]) && _cueFed + 1 < _cue.Length ? 2 : 1;
            Generator.Prime(_cue.AsSpan(_cueFed, units));
            _cueFed += units;
            return true;
        }
        int unit = Generator.NextChar();
        if (unit < 0)
        {
            _ended = true;
            return false;
        }
        if (char.IsHighSurrogate((char)unit))
        {
            // A character outside the BMP arrives as two calls; both halves go in together or, at capacity, neither.
            int low = Generator.NextChar();
            if (_length + 2 > _text.Length)
            {
                _ended = true;
                return true;
            }
            _text[_length++] = (char)unit;
            _text[_length++] = (char)low;
        }
        else
        {
            _text[_length++] = (char)unit;
        }
        _ended = _length == _text.Length;
        return true;
    }

    /// <summary>
    /// Spends up to <paramref name="budget"/> on the line and returns the chars it generated. It stops when one more
    /// step would probably overrun the budget, judged by twice the running mean cost of a step, but always takes at
    /// least one step, so a machine too slow for the budget still makes progress, only more slowly.
    /// </summary>
    public int Advance(TimeSpan budget)
    {
        long start = Stopwatch.GetTimestamp();
        long limit = (long)(budget.TotalSeconds * Stopwatch.Frequency);
        int before = _length;
        do
        {
            long stepStart = Stopwatch.GetTimestamp();
            if (!Step()) break;
            long cost = Stopwatch.GetTimestamp() - stepStart;
            _stepTicks = _stepTicks == 0 ? cost : _stepTicks + (cost - _stepTicks) / CostSmoothing;
        }
        while (Stopwatch.GetTimestamp() - start + 2 * _stepTicks <= limit);
        return _length - before;
    }
}
