using TextGen.Runtime.Format;
using TextGen.Runtime.Generation;
using TextGen.Runtime.Model;
using TextGen.Runtime.Sampling;
using TextGen.Tests.Support;

namespace TextGen.Tests.Generation;

/// <summary>A line written over frames equals one written at once, whatever the budget, and costs no allocation.</summary>
internal sealed class BudgetedLineTests
{
    private const string Cue = "12: ";

    private static readonly GeneratorOptions Options = new()
    {
        Seed = 9,
        Sampling = new SamplingOptions { Temperature = 0.9 },
        StopStrings = new[] { "7" },
        MaxLength = 120,
    };

    private static string WrittenAtOnce(TextModel model, GeneratorOptions options, string cue)
    {
        var generator = model.CreateGenerator(options);
        generator.Prime(cue);
        return TestModels.Read(generator);
    }

    [TestCase(CellKind.Rnn)]
    [TestCase(CellKind.Gru)]
    [TestCase(CellKind.Lstm)]
    public void TextDoesNotDependOnTheBudget(CellKind cell)
    {
        TextModel model = TestModels.Create(cell);
        string expected = WrittenAtOnce(model, Options, Cue);

        var slow = new BudgetedLine(model.CreateGenerator(Options), 256);
        slow.Begin(Cue);
        int frames = 0;
        while (!slow.IsComplete)
        {
            slow.Advance(TimeSpan.Zero);
            frames++;
        }
        var fast = new BudgetedLine(model.CreateGenerator(Options), 256);
        fast.Begin(Cue);
        fast.Advance(TimeSpan.FromMinutes(1));

        Assert.That(expected, Is.Not.Empty);
        Assert.That(slow.Text.ToString(), Is.EqualTo(expected));
        Assert.That(fast.Text.ToString(), Is.EqualTo(expected));
        Assert.That(fast.IsComplete, Is.True);
        // One step per zero-budget frame: one per cue char, one per generated char, and the step that finds the end.
        Assert.That(frames, Is.EqualTo(Cue.Length + expected.Length + 1));
    }

    [Test]
    public void AZeroBudgetFeedsTheCueOneCharPerFrameThenGeneratesOneCharPerFrame()
    {
        var line = new BudgetedLine(TestModels.Create().CreateGenerator(Options with { StopStrings = Array.Empty<string>() }), 64);
        line.Begin(Cue);
        for (int i = 0; i < Cue.Length; i++) Assert.That(line.Advance(TimeSpan.Zero), Is.Zero, $"cue step {i}");
        for (int i = 1; i <= 5; i++)
        {
            Assert.That(line.Advance(TimeSpan.Zero), Is.EqualTo(1));
            Assert.That(line.Text.Length, Is.EqualTo(i));
        }
        Assert.That(line.StepCost, Is.GreaterThan(TimeSpan.Zero));
    }

    [Test]
    public void TheCapacityEndsALineTheGeneratorWouldContinue()
    {
        TextModel model = TestModels.Create();
        var options = Options with { StopStrings = Array.Empty<string>(), MaxLength = null };
        var line = new BudgetedLine(model.CreateGenerator(options), 10);
        line.Begin(Cue);
        line.Advance(TimeSpan.FromMinutes(1));

        Assert.That(line.IsComplete, Is.True);
        Assert.That(line.Text.ToString(), Is.EqualTo(WrittenAtOnce(model, options with { MaxLength = 10 }, Cue)));
        Assert.That(line.Step(), Is.False);
    }

    [Test]
    public void ANewLineContinuesFromTheSpeakersState()
    {
        TextModel model = TestModels.Create();
        var reference = model.CreateGenerator(Options);
        reference.Prime(Cue);
        string first = TestModels.Read(reference);
        reference.Prime("3");
        string second = TestModels.Read(reference);

        var line = new BudgetedLine(model.CreateGenerator(Options), 256);
        line.Begin(Cue);
        line.Advance(TimeSpan.FromMinutes(1));
        Assert.That(line.Text.ToString(), Is.EqualTo(first));
        line.Begin("3");
        line.Advance(TimeSpan.FromMinutes(1));
        Assert.That(line.Text.ToString(), Is.EqualTo(second));
    }

    [Test]
    public void ASurrogatePairIsNeverSplitAtTheCapacity()
    {
        TextModel model = TestModels.WithEmoji();
        var options = new GeneratorOptions { Seed = 4, Sampling = new SamplingOptions { Temperature = 1.0 } };
        string full = WrittenAtOnce(model, options with { MaxLength = 400 }, "a");
        int pairs = 0;
        for (int capacity = 2; capacity < 40; capacity++)
        {
            var line = new BudgetedLine(model.CreateGenerator(options), capacity);
            line.Begin("a");
            line.Advance(TimeSpan.FromMinutes(1));
            string text = line.Text.ToString();

            Assert.That(full, Does.StartWith(text));
            Assert.That(text.Length, Is.EqualTo(capacity).Or.EqualTo(capacity - 1));
            Assert.That(char.IsHighSurrogate(text[^1]), Is.False, $"capacity {capacity}");
            if (text.Length == capacity - 1) pairs++;
        }
        Assert.That(pairs, Is.GreaterThan(0), "no capacity fell inside a surrogate pair, so the case was not exercised");
    }

    [Test]
    public void ACueWithAnUnknownCharacterIsRefusedWholeBeforeAnythingIsFed()
    {
        TextModel model = TestModels.Create();
        var line = new BudgetedLine(model.CreateGenerator(Options), 64);
        line.Begin(Cue);
        while (!line.IsComplete) line.Advance(TimeSpan.FromMinutes(1));
        string previousLine = line.Text.ToString();
        byte[] before = line.Generator.SaveState();

        var refused = Assert.Throws<UnknownCharacterException>(() => line.Begin("12~3"))!;

        Assert.That(refused.Position, Is.EqualTo(2));
        Assert.That(refused.CodePoint, Is.EqualTo('~'));
        Assert.That(refused.Message, Does.Contain("'~' (U+007E) at position 2"));
        Assert.That(line.Generator.SaveState(), Is.EqualTo(before), "the cue's first characters were fed");
        Assert.That(line.IsComplete, Is.True);
        Assert.That(line.Text.ToString(), Is.EqualTo(previousLine));
        Assert.That(line.Step(), Is.False, "the refused cue was kept and would be fed on the next frame");
    }

    [TestCase(UnknownCharacterHandling.Skip)]
    [TestCase(UnknownCharacterHandling.Replace)]
    public void ACueWithAnUnknownCharacterIsFedAsPrimeFeedsIt(UnknownCharacterHandling handling)
    {
        TextModel model = TestModels.Create();
        var options = Options with { UnknownCharacters = handling };
        const string cue = "1~2\U0001F600 ";
        string expected = WrittenAtOnce(model, options, cue);

        var line = new BudgetedLine(model.CreateGenerator(options), 256);
        line.Begin(cue);
        while (!line.IsComplete) line.Advance(TimeSpan.Zero);

        Assert.That(expected, Is.Not.Empty);
        Assert.That(line.Text.ToString(), Is.EqualTo(expected));
    }

    [Test]
    public void WritingLinesOverFramesAllocatesNothing()
    {
        var line = new BudgetedLine(TestModels.Create(hidden: 48).CreateGenerator(Options with { MaxLength = 200 }), 256);
        void Speak()
        {
            line.Begin(Cue);
            while (!line.IsComplete) line.Advance(TimeSpan.FromTicks(1));
        }
        Speak();
        Assert.That(ThreadAllocations.During(() =>
        {
            for (int i = 0; i < 50; i++) Speak();
        }), Is.Zero);
    }

    [Test]
    public void BadArgumentsAreRejected()
    {
        var generator = TestModels.Create().CreateGenerator(Options);
        Assert.Throws<ArgumentNullException>(() => new BudgetedLine(null!, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BudgetedLine(generator, 1));
        Assert.Throws<ArgumentNullException>(() => new BudgetedLine(generator, 10).Begin(null!));
    }
}
