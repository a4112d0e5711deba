using TextGen.Runtime.Generation;

namespace TextGen.Demo.Scene;

/// <summary>
/// A speaker in the scene. It owns its generator (its own seed, temperature and recurrent state) and its line, so
/// speaking allocates nothing; the typewriter shows the line's chars as the frames go by.
/// </summary>
internal sealed class Npc
{
    private readonly string _cue;
    private int _revealed;

    /// <param name="name">The speaker's name as the corpus writes it, e.g. <c>ROMEO</c>.</param>
    /// <param name="generator">This speaker's own generator; its options end a line (stop strings, max length).</param>
    /// <param name="nameLine">How the name is shown above each speech (with colour codes on a terminal).</param>
    public Npc(string name, TextGenerator generator, string nameLine)
    {
        NameLine = nameLine;
        Line = new BudgetedLine(generator, (generator.Options.MaxLength ?? 256) * 2);
        // A play's speech starts with the speaker's name on a line of its own: priming with it makes the model talk as them.
        _cue = "\n\n" + name + ":\n";
    }

    /// <summary>How the name is shown above each speech, built once so that showing it allocates nothing.</summary>
    public string NameLine { get; }

    /// <summary>The speech being written, within each frame's budget.</summary>
    public BudgetedLine Line { get; }

    /// <summary>True when the model ended the line and every generated char was shown.</summary>
    public bool LineDone => Line.IsComplete && _revealed == Line.Text.Length;

    /// <summary>Starts a new speech: the cue (the speaker's name) is fed first, so the next characters are their words.</summary>
    public void BeginLine()
    {
        Line.Begin(_cue);
        _revealed = 0;
    }

    /// <summary>Takes up to <paramref name="count"/> generated chars that are not shown yet.</summary>
    public ReadOnlySpan<char> Reveal(int count)
    {
        int take = Math.Min(count, Line.Text.Length - _revealed);
        var chars = Line.Text.Slice(_revealed, take);
        _revealed += take;
        return chars;
    }
}
