using System.Diagnostics;
using TextGen.Runtime.Generation;
using TextGen.Runtime.Model;
using TextGen.Runtime.Sampling;

namespace TextGen.Demo.Scene;

/// <summary>
/// The demo scene: a street in Verona where NPCs, each with a generator of its own over one shared model, speak in
/// turn. Text appears typewriter-style from a fixed 60 fps frame loop; the model only runs inside a per-frame time
/// budget, so generation never costs a frame, as it must not in a game.
/// </summary>
internal sealed class StreetScene
{
    /// <summary>Frame rate of the loop.</summary>
    public const double FramesPerSecond = 60;

    /// <summary>Chars the typewriter shows per frame (120 chars/s at 60 fps).</summary>
    public const int RevealPerFrame = 2;

    /// <summary>Frames a finished line stays before the next speaker starts.</summary>
    public const int PauseFrames = 30;

    /// <summary>Longest line, in characters.</summary>
    public const int MaxLineLength = 220;

    /// <summary>Speeches in the scene.</summary>
    public const int Turns = 10;

    // Name, seed, temperature: each NPC sounds a little different. A speech ends at the blank line that ends it in the corpus.
    private static readonly (string Name, ulong Seed, double Temperature)[] Cast =
    {
        ("MERCUTIO", 11, 0.8),
        ("NURSE", 23, 0.7),
        ("ROMEO", 5, 0.75),
        ("FRIAR LAURENCE", 42, 0.65),
    };

    private readonly TextModel _model;
    private readonly TextWriter _output;
    private readonly bool _color;

    /// <param name="model">The shared model.</param>
    /// <param name="output">Where the text appears.</param>
    /// <param name="color">Colour the speakers' names with ANSI codes (a terminal, not a redirected stream).</param>
    public StreetScene(TextModel model, TextWriter output, bool color)
    {
        _model = model;
        _output = output;
        _color = color;
    }

    /// <summary>Plays the scene; it ends after <see cref="Turns"/> speeches or <paramref name="maxDuration"/>, whichever comes first.</summary>
    /// <param name="maxDuration">Longest the scene may run.</param>
    /// <param name="generationBudget">Model time allowed per frame.</param>
    public SceneStats Play(TimeSpan maxDuration, TimeSpan generationBudget)
    {
        var npcs = Cast.Select((c, i) => new Npc(c.Name, _model.CreateGenerator(OptionsFor(c.Seed, c.Temperature)), NameLine(c.Name, 31 + i))).ToArray();
        WarmUp();

        var clock = new FrameClock(FramesPerSecond);
        long sceneStart = Stopwatch.GetTimestamp();
        long end = sceneStart + (long)(maxDuration.TotalSeconds * Stopwatch.Frequency);
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        int frames = 0, lines = 0, pause = 0;
        long chars = 0, generationTicks = 0, worstFrame = 0;
        Npc speaker = npcs[0];
        bool speaking = false;

        while (Stopwatch.GetTimestamp() < end)
        {
            long frameStart = Stopwatch.GetTimestamp();
            if (!speaking && pause == 0)
            {
                if (lines == Turns) break;
                speaker = npcs[lines % npcs.Length];
                _output.Write(speaker.NameLine);
                speaker.BeginLine();
                speaking = true;
                lines++;
            }

            if (speaking)
            {
                long workStart = Stopwatch.GetTimestamp();
                chars += speaker.Line.Advance(generationBudget);
                generationTicks += Stopwatch.GetTimestamp() - workStart;
                _output.Write(speaker.Reveal(RevealPerFrame));
                if (speaker.LineDone)
                {
                    _output.Write("\n\n");
                    speaking = false;
                    pause = PauseFrames;
                }
            }
            else
            {
                pause--;
            }
            _output.Flush();

            worstFrame = Math.Max(worstFrame, Stopwatch.GetTimestamp() - frameStart);
            frames++;
            clock.WaitForNextFrame();
        }
        if (speaking) _output.Write(" —\n\n"); // the scene's time ran out mid-speech
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;

        return new SceneStats(lines, frames, clock.LateFrames, chars, FrameClock.Seconds(generationTicks), FrameClock.Seconds(worstFrame), clock.Period,
            generationBudget, FrameClock.Seconds(Stopwatch.GetTimestamp() - sceneStart), allocated);
    }

    private static GeneratorOptions OptionsFor(ulong seed, double temperature) => new()
    {
        Seed = seed,
        Sampling = new SamplingOptions { Temperature = temperature },
        StopStrings = new[] { "\n\n" },
        MaxLength = MaxLineLength,
        // The cue names a speaker; a model trained on other text may lack some letters, which then are left out.
        UnknownCharacters = UnknownCharacterHandling.Skip,
    };

    // Runs the model before the first frame, so that JIT compilation does not land in a frame.
    private void WarmUp()
    {
        var line = new BudgetedLine(_model.CreateGenerator(OptionsFor(0, 1)), 64);
        line.Begin("\n");
        while (line.Step()) { }
    }

    private string NameLine(string name, int ansiColor) =>
        _color ? $"\u001b[1;{ansiColor}m{name}:\u001b[0m\n" : $"{name}:\n";

}
