using TextGen.Runtime.Format;
using TextGen.Runtime.Generation;
using TextGen.Runtime.Model;
using TextGen.Runtime.Sampling;

namespace TextGen.Tests.Generation;

/// <summary>
/// The engine-neutral steps of docs/embedding.md, run on the shipped model as a game would: load from asset bytes,
/// write speakers' lines over frames within a budget, and save and restore a generator between lines.
/// </summary>
internal sealed class EmbeddingGuideTests
{
    private static readonly TimeSpan FrameBudget = TimeSpan.FromMilliseconds(2);

    private static byte[] AssetBytes() => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "artifacts", "shakespeare.tgm"));

    private static GeneratorOptions Speaker(ulong seed) => new()
    {
        Seed = seed,
        Sampling = new SamplingOptions { Temperature = 0.75 },
        StopStrings = new[] { "\n\n" },
        MaxLength = 200,
    };

    // Runs frames until the line is complete, as Update/_Process would, and returns the number of frames.
    private static int PlayFrames(BudgetedLine line)
    {
        int frames = 0;
        while (!line.IsComplete)
        {
            line.Advance(FrameBudget);
            frames++;
        }
        return frames;
    }

    [Test]
    public void SpeakersSharingAModelLoadedFromAssetBytesWriteTheirLinesOverFrames()
    {
        TextModel model = TextModel.Load(AssetBytes(), "shakespeare.bytes");
        var nurse = new BudgetedLine(model.CreateGenerator(Speaker(42)), 256);
        var romeo = new BudgetedLine(model.CreateGenerator(Speaker(5)), 256);
        nurse.Begin("\n\nNURSE:\n");
        romeo.Begin("\n\nROMEO:\n");
        while (!nurse.IsComplete || !romeo.IsComplete)
        {
            nurse.Advance(FrameBudget);
            romeo.Advance(FrameBudget);
        }

        foreach (var (line, seed, cue) in new[] { (nurse, 42UL, "\n\nNURSE:\n"), (romeo, 5UL, "\n\nROMEO:\n") })
        {
            var atOnce = model.CreateGenerator(Speaker(seed));
            atOnce.Prime(cue);
            Assert.That(line.Text.ToString(), Is.EqualTo(TestModels.Read(atOnce)));
            Assert.That(line.Text.Length, Is.GreaterThan(10), "a speech of real words");
        }
        Assert.That(nurse.Text.ToString(), Is.Not.EqualTo(romeo.Text.ToString()));
    }

    [Test]
    public void AThrowawayWarmUpStepChangesNoSpeakersText()
    {
        // The guide's loading-screen warm-up: one step of a generator nobody keeps, then the speakers start.
        string Line(bool warmUp)
        {
            TextModel model = TextModel.Load(AssetBytes(), "shakespeare.bytes");
            if (warmUp) model.CreateGenerator().NextChar();
            return model.CreateGenerator(Speaker(17)).GenerateString(120);
        }

        Assert.That(Line(warmUp: true), Is.EqualTo(Line(warmUp: false)).And.Length.GreaterThan(20));
    }

    [Test]
    public void AGeneratorSavedBetweenLinesContinuesExactlyAfterLoading()
    {
        TextModel model = TextModel.Load(AssetBytes(), "shakespeare.bytes");
        var playing = new BudgetedLine(model.CreateGenerator(Speaker(7)), 256);
        playing.Begin("\n\nMERCUTIO:\n");
        PlayFrames(playing);
        byte[] save = playing.Generator.SaveState();
        playing.Begin("\n\nMERCUTIO:\n");
        PlayFrames(playing);
        string continued = playing.Text.ToString();

        var loadedGame = new BudgetedLine(model.CreateGenerator(Speaker(7)), 256);
        loadedGame.Generator.RestoreState(save);
        loadedGame.Begin("\n\nMERCUTIO:\n");
        PlayFrames(loadedGame);

        Assert.That(continued, Is.Not.Empty);
        Assert.That(loadedGame.Text.ToString(), Is.EqualTo(continued));
    }

    [Test]
    public void ACrowdSteppedAsOneBatchWritesWhatEachSpeakerWritesAlone()
    {
        TextModel model = TextModel.Load(AssetBytes(), "shakespeare.bytes");
        string[] speakers = { "NURSE", "ROMEO", "MERCUTIO", "JULIET" };
        string Cue(int i) => "\n\n" + speakers[i] + ":\n";
        var batch = new GeneratorBatch(model, Enumerable.Range(0, speakers.Length).Select(i => model.CreateGenerator(Speaker((ulong)i + 1))));
        batch.Prime(Enumerable.Range(0, speakers.Length).Select(Cue).ToArray());   // every speaker's cue fed together
        TextGenerator Speaking(int i)
        {
            TextGenerator generator = model.CreateGenerator(Speaker((ulong)i + 1));
            generator.Prime(Cue(i));
            return generator;
        }
        var next = new int[speakers.Length];
        var lines = speakers.Select(_ => new System.Text.StringBuilder()).ToArray();
        while (!batch.IsFinished)
        {
            batch.NextChars(next);
            for (int i = 0; i < next.Length; i++)
            {
                if (next[i] >= 0) lines[i].Append((char)next[i]);
            }
        }

        for (int i = 0; i < speakers.Length; i++) Assert.That(lines[i].ToString(), Is.EqualTo(TestModels.Read(Speaking(i))), speakers[i]);
        // a line may be a short one ("Ay, sir." ends at its blank line); together they are speeches of real words
        Assert.That(lines.Sum(l => l.Length), Is.GreaterThan(40));
    }

    [Test]
    public void ACorruptAssetIsReportedUnderItsAssetName()
    {
        byte[] bytes = AssetBytes();
        bytes[bytes.Length / 2] ^= 0x10;
        var error = Assert.Throws<ModelFormatException>(() => TextModel.Load(bytes, "shakespeare.bytes"));
        Assert.That(error!.Message, Does.StartWith("shakespeare.bytes: "));
    }
}
