using TextGen.Runtime.Generation;
using TextGen.Runtime.Model;
using TextGen.Runtime.Sampling;

namespace TextGen.Tests.Generation;

/// <summary>
/// A generator serves one caller at a time. A call that arrives while another is running on the same generator (from
/// another thread) must be refused before it touches the state, so the running call ends exactly as if alone and the
/// generator works normally afterwards; threads that take turns are not disturbed.
/// </summary>
public sealed class OneCallerAtATimeTests
{
    private static readonly GeneratorOptions Options = new() { Seed = 5, Sampling = new SamplingOptions { Temperature = 0.9 } };

    private static readonly TextModel Model = TestModels.Create(hidden: 32);

    // Every public call that reads or writes a generator's state, made on generator `a` (a member of `batch`, with `other`).
    private static readonly (string Name, Action<TextGenerator, GeneratorBatch, byte[]> Call)[] Calls =
    {
        ("NextChar", (a, _, _) => a.NextChar()),
        ("Generate", (a, _, _) => a.Generate(new char[10])),
        ("GenerateString", (a, _, _) => a.GenerateString(10)),
        ("EnumerateChars", (a, _, _) => a.EnumerateChars().First()),
        ("Prime", (a, _, _) => a.Prime("12")),
        ("FeedToken", (a, _, _) => a.FeedToken(3)),
        ("Reset", (a, _, _) => a.Reset()),
        ("SaveState", (a, _, _) => a.SaveState()),
        ("SaveStateIntoSpan", (a, _, _) => a.SaveState(new byte[a.StateSize])),
        ("RestoreState", (a, _, state) => a.RestoreState(state)),
        ("BudgetedLine", (a, _, _) => Speak(new BudgetedLine(a, 16))),
        ("BatchNextChars", (_, batch, _) => batch.NextChars(new int[2])),
        ("BatchPrime", (_, batch, _) => batch.Prime(new[] { "12", "21" })),
    };

    private static void Speak(BudgetedLine line)
    {
        line.Begin("1");
        line.Advance(TimeSpan.FromSeconds(1));
    }

    private static IEnumerable<TestCaseData> CallCases() => Calls.Select(c => new TestCaseData(c.Name).SetName($"{{m}}({c.Name})"));

    [TestCaseSource(nameof(CallCases))]
    public void ACallWhileAnotherRunsIsRefusedAndChangesNothing(string name)
    {
        var call = Calls.Single(c => c.Name == name).Call;
        TextGenerator a = Model.CreateGenerator(Options), other = Model.CreateGenerator(Options with { Seed = 6 });
        TextGenerator twin = Model.CreateGenerator(Options), otherTwin = Model.CreateGenerator(Options with { Seed = 6 });
        foreach (var g in new[] { a, other, twin, otherTwin }) g.Prime("1 2 ");
        var batch = new GeneratorBatch(Model, new[] { a, other });
        byte[] aState = a.SaveState(), otherState = other.SaveState();

        // What a call in progress on another thread holds; the refused call must neither wait for it nor touch a thing.
        a.Claim();
        var refused = Assert.Throws<InvalidOperationException>(() => call(a, batch, aState))!;
        a.Release();

        Assert.That(refused.Message, Does.Contain("another thread").And.Contain("CreateGenerator"));
        Assert.That(a.SaveState(), Is.EqualTo(aState), "the refused call changed the generator");
        Assert.That(other.SaveState(), Is.EqualTo(otherState), "the refused batch call changed another of its generators");
        // Once the other call has ended, every generator works as if the refused call had never been made.
        call(a, batch, aState);
        call(twin, new GeneratorBatch(Model, new[] { twin, otherTwin }), aState);
        Assert.That(a.SaveState(), Is.EqualTo(twin.SaveState()));
        Assert.That(other.SaveState(), Is.EqualTo(otherTwin.SaveState()));
        Assert.That(a.GenerateString(50), Is.EqualTo(twin.GenerateString(50)));
    }

    [Test]
    public void ASecondThreadIsRefusedWhileTheFirstGeneratesAndTheFirstTextIsUnharmed()
    {
        TextModel model = TestModels.Create(hidden: 128);
        TextGenerator shared = model.CreateGenerator(Options), alone = model.CreateGenerator(Options);
        var first = Task.Run(() => shared.GenerateString(10_000));

        SpinWait.SpinUntil(() => shared.GeneratedLength > 0 || first.IsCompleted);
        var refused = Assert.Throws<InvalidOperationException>(() => shared.NextChar());
        bool overlapped = !first.IsCompleted;

        Assert.That(overlapped, Is.True, "the first call ended before the second was made, so nothing overlapped");
        Assert.That(refused.Message, Does.Contain("another thread"));
        Assert.That(first.Result, Is.EqualTo(alone.GenerateString(10_000)));
        Assert.That(shared.NextChar(), Is.EqualTo(alone.NextChar()), "the generator stayed claimed after the first call");
    }

    [Test]
    public void ThreadsThatTakeTurnsWriteTheTextOfOne()
    {
        TextGenerator shared = Model.CreateGenerator(Options), alone = Model.CreateGenerator(Options);
        var text = new System.Text.StringBuilder();
        for (int turn = 0; turn < 6; turn++)
        {
            var thread = new Thread(() => text.Append(shared.GenerateString(100)));
            thread.Start();
            thread.Join();
        }
        Assert.That(text.ToString(), Is.EqualTo(alone.GenerateString(600)));
    }

    [Test]
    public void RefusedArgumentsLeaveTheGeneratorFree()
    {
        TextGenerator generator = Model.CreateGenerator(Options);
        Assert.Throws<UnknownCharacterException>(() => generator.Prime("1~"));
        Assert.Throws<ArgumentOutOfRangeException>(() => generator.FeedToken(-1));
        Assert.Throws<ArgumentException>(() => generator.SaveState(new byte[1]));
        Assert.Throws<GeneratorStateException>(() => generator.RestoreState(new byte[8]));
        Assert.That(() => generator.NextChar(), Throws.Nothing);
    }
}
