using TextGen.Runtime.Generation;

namespace TextGen.Demo.Scene;

/// <summary>
/// A speaker in the scene. It owns its generator (its own seed, temperature and recurrent state) and a line
/// buffer allocated once, so speaking allocates nothing.
/// </summary>
internal sealed class Npc
{
    private readonly string _cue;
    private readonly char[] _line;
    private int _cueFed;
    private int _generated;
    private int _revealed;

    /// <param name="name">The speaker's name as the corpus writes it, e.g. <c>ROMEO</c>.</param>
    /// <param name="generator">This speaker's own generator; its options end a line (stop strings, max length).</param>
    /// <param name="nameLine">How the name is shown above each speech (with colour codes on a terminal).</param>
    public Npc(string name, TextGenerator generator, string nameLine)
    {
        Name = name;
        Generator = generator;
        NameLine = nameLine;
        // A play's speech starts with the speaker's name on a line of its own: priming with it makes the model talk as them.
        _cue = "\n\n" + name + ":\n";
        _line = new char[(generator.Options.MaxLength ?? 256) * 2];
    }

    /// <summary>The speaker's name.</summary>
    public string Name { get; }

    /// <summary>The speaker's generator.</summary>
    public TextGenerator Generator { get; }

    /// <summary>How the name is shown above each speech, built once so that showing it allocates nothing.</summary>
    public string NameLine { get; }

    /// <summary>True when the model ended the line and every generated char was shown.</summary>
    public bool LineDone => _cueFed == _cue.Length && Generator.IsFinished && _revealed == _generated;

    /// <summary>Starts a new speech: the cue (the speaker's name) is fed first, so the next characters are their words.</summary>
    public void BeginLine()
    {
        _cueFed = 0;
        _generated = 0;
        _revealed = 0;
    }

    /// <summary>
    /// One unit of model work, so that a frame can stop whenever its budget is spent: feeds the next character of the
    /// cue, or generates the next character of the line. False when the line is complete.
    /// </summary>
    public bool Step()
    {
        if (_cueFed < _cue.Length)
        {
            int units = char.IsHighSurrogate(_cue[_cueFed]) ? 2 : 1;
            Generator.Prime(_cue.AsSpan(_cueFed, units));
            _cueFed += units;
            return true;
        }
        if (_generated == _line.Length) return false;
        int unit = Generator.NextChar();
        if (unit < 0) return false;
        _line[_generated++] = (char)unit;
        return true;
    }

    /// <summary>Takes up to <paramref name="count"/> generated chars that are not shown yet.</summary>
    public ReadOnlySpan<char> Reveal(int count)
    {
        int take = Math.Min(count, _generated - _revealed);
        var chars = _line.AsSpan(_revealed, take);
        _revealed += take;
        return chars;
    }
}
