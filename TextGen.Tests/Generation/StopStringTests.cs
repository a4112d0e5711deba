using TextGen.Runtime.Generation;
using TextGen.Runtime.Model;

namespace TextGen.Tests.Generation;

/// <summary>
/// Stop strings do not change what is sampled, so a generator with stop strings must output exactly the text a
/// generator without them produces, cut before the first occurrence of any stop string.
/// </summary>
internal sealed class StopStringTests
{
    private static readonly GeneratorOptions Base = new() { Seed = 12, MaxLength = 600 };

    [TestCase(40, 1)]
    [TestCase(57, 2)]
    [TestCase(91, 4)]
    public void OutputStopsBeforeTheStopString(int at, int length)
    {
        TextModel model = TestModels.Create();
        string free = TestModels.Read(model.CreateGenerator(Base));
        string stop = free.Substring(at, length);
        TextGenerator generator = model.CreateGenerator(Base with { StopStrings = new[] { stop } });
        string text = TestModels.Read(generator);
        Assert.That(text, Is.EqualTo(free.Substring(0, free.IndexOf(stop, StringComparison.Ordinal))));
        Assert.That(generator.IsFinished, Is.True);
        Assert.That(generator.NextChar(), Is.EqualTo(-1));
    }

    [Test]
    public void TheEarliestOfSeveralOverlappingStopStringsWins()
    {
        TextModel model = TestModels.Create();
        string free = TestModels.Read(model.CreateGenerator(Base));
        // a long stop string sharing its start with a later one, a stop string that never occurs, and one that does
        string[] stops = { free.Substring(70, 2) + "\u0001", "\u0002\u0003", free.Substring(70, 5), free.Substring(120, 3) };
        int end = stops.Select(s => free.IndexOf(s, StringComparison.Ordinal)).Where(i => i >= 0).Min();
        string text = TestModels.Read(model.CreateGenerator(Base with { StopStrings = stops }));
        Assert.That(text, Is.EqualTo(free.Substring(0, end)));
    }

    [Test]
    public void HeldBackCharactersAreReleasedWhenMaxLengthEndsGeneration()
    {
        TextModel model = TestModels.Create();
        string free = TestModels.Read(model.CreateGenerator(Base with { MaxLength = 30 }));
        // the stop string starts with the last generated char but cannot complete before the limit
        string stop = free.Substring(29, 1) + "\u0001";
        Assert.That(TestModels.Read(model.CreateGenerator(Base with { MaxLength = 30, StopStrings = new[] { stop } })), Is.EqualTo(free));
    }

    [Test]
    public void AStopStringEndsEachGenerationAfterEveryPrime()
    {
        TextModel model = TestModels.Create();
        TextGenerator generator = model.CreateGenerator(Base with { StopStrings = new[] { "#" }, MaxLength = 2000 });
        for (int round = 0; round < 3; round++)
        {
            string text = TestModels.Read(generator);
            Assert.That(text, Does.Not.Contain("#"));
            Assert.That(generator.IsFinished, Is.True, "a 30-symbol vocabulary hits '#' well within 2000 chars");
            generator.Prime("!");
        }
    }
}
