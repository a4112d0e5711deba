using System.Text;
using TextGen.Runtime.Format;
using TextGen.Runtime.Generation;
using TextGen.Runtime.Model;
using TextGen.Runtime.Sampling;

namespace TextGen.Tests.Generation;

internal sealed class GeneratorTests
{
    [Test]
    public void StreamingApisProduceTheSameText()
    {
        TextModel model = TestModels.Create();
        var options = new GeneratorOptions { Seed = 4, Sampling = new SamplingOptions { Temperature = 0.9, TopK = 10 } };
        string byChar = TestModels.Read(model.CreateGenerator(options), 300);
        string byEnumerator = new(model.CreateGenerator(options).EnumerateChars().Take(300).ToArray());
        TextGenerator spanGenerator = model.CreateGenerator(options);
        var bySpans = new StringBuilder();
        var buffer = new char[7];
        while (bySpans.Length < 300) bySpans.Append(buffer, 0, spanGenerator.Generate(buffer));
        string byString = model.CreateGenerator(options).GenerateString(300);

        Assert.That(byChar, Has.Length.EqualTo(300));
        Assert.That(byEnumerator, Is.EqualTo(byChar));
        Assert.That(bySpans.ToString().Substring(0, 300), Is.EqualTo(byChar));
        Assert.That(byString, Is.EqualTo(byChar));
    }

    [Test]
    public void GeneratedLengthCountsCharactersSincePrimeOrReset()
    {
        TextModel model = TestModels.WithEmoji();
        var options = new GeneratorOptions { Seed = 8, MaxLength = 400 };
        TextGenerator generator = model.CreateGenerator(options);
        Assert.That(generator.GeneratedLength, Is.Zero);

        string text = TestModels.Read(generator, 151);
        int scalars = text.EnumerateRunes().Count();
        Assert.That(text.Any(char.IsHighSurrogate), Is.True, "the test needs pairs in the text");
        Assert.That(generator.GeneratedLength, Is.EqualTo(scalars).Or.EqualTo(scalars + 1), "a pair split by the read is counted once generated");

        byte[] state = generator.SaveState();
        TextGenerator restored = model.CreateGenerator(options);
        restored.RestoreState(state);
        Assert.That(restored.GeneratedLength, Is.EqualTo(generator.GeneratedLength), "saved with the state");

        TestModels.Read(generator);
        Assert.That(generator.GeneratedLength, Is.EqualTo(400), "at the end, MaxLength characters");
        generator.Prime("a");
        Assert.That(generator.GeneratedLength, Is.Zero, "a prime starts a new text");
        TestModels.Read(generator, 10);
        generator.Reset();
        Assert.That(generator.GeneratedLength, Is.Zero, "so does a reset");
    }

    [Test]
    public void CharactersOutsideTheBmpArriveAsWholeSurrogatePairs()
    {
        TextModel model = TestModels.WithEmoji();
        var options = new GeneratorOptions { Seed = 8, MaxLength = 400 };
        string expected = TestModels.Read(model.CreateGenerator(options));
        Assert.That(expected.Any(char.IsHighSurrogate), Is.True, "the test needs pairs in the text");
        Assert.That(IsWellFormed(expected), Is.True);
        Assert.That(expected.Length - expected.Count(char.IsLowSurrogate), Is.EqualTo(400), "max length counts characters, not chars");

        foreach (int size in new[] { 1, 2, 3, 5 })
        {
            TextGenerator generator = model.CreateGenerator(options);
            var text = new StringBuilder();
            var buffer = new char[size];
            int written;
            while ((written = generator.Generate(buffer)) > 0)
            {
                string chunk = new(buffer, 0, written);
                if (size > 1) Assert.That(IsWellFormed(chunk), Is.True, $"chunk size {size} split a pair");
                text.Append(chunk);
            }
            Assert.That(text.ToString(), Is.EqualTo(expected), $"chunk size {size}");
            Assert.That(generator.IsFinished, Is.True);
        }
    }

    [Test]
    public void MaxLengthEndsGenerationAndPrimeStartsANewOne()
    {
        TextGenerator generator = TestModels.Create().CreateGenerator(new GeneratorOptions { MaxLength = 25 });
        Assert.That(TestModels.Read(generator), Has.Length.EqualTo(25));
        Assert.That(generator.IsFinished, Is.True);
        Assert.That(generator.NextChar(), Is.EqualTo(-1));
        Assert.That(generator.Generate(new char[10]), Is.Zero);
        generator.Prime("!");
        Assert.That(generator.IsFinished, Is.False);
        Assert.That(TestModels.Read(generator), Has.Length.EqualTo(25));
        Assert.That(TestModels.Read(TestModels.Create().CreateGenerator(new GeneratorOptions { MaxLength = 0 })), Is.Empty);
    }

    [Test]
    public void ResetStartsOverExactly()
    {
        TextGenerator generator = TestModels.Create().CreateGenerator(new GeneratorOptions { Seed = 3, MaxLength = 80 });
        generator.Prime("#$%");
        string first = TestModels.Read(generator);
        generator.Reset();
        generator.Prime("#$%");
        Assert.That(TestModels.Read(generator), Is.EqualTo(first));
    }

    [Test]
    public void GenerationWithoutAPrimeStartsFromTheEmptyContext()
    {
        TextModel model = TestModels.Create();
        string text = TestModels.Read(model.CreateGenerator(new GeneratorOptions { Seed = 5, MaxLength = 50 }));
        Assert.That(text, Has.Length.EqualTo(50));
        Assert.That(text.All(c => model.TryGetTokenId(c, out _)), Is.True);
    }

    [Test]
    public void InvalidGeneratorOptionsNameTheOption()
    {
        Assert.That(Assert.Throws<ArgumentException>(() => _ = new GeneratorOptions { MaxLength = -1 })!.ParamName, Is.EqualTo("MaxLength"));
        Assert.That(Assert.Throws<ArgumentException>(() => _ = new GeneratorOptions { StopStrings = null! })!.ParamName, Is.EqualTo("StopStrings"));
        Assert.That(Assert.Throws<ArgumentException>(() => _ = new GeneratorOptions { StopStrings = new[] { "ok", "" } })!.ParamName, Is.EqualTo("StopStrings"));
        Assert.That(Assert.Throws<ArgumentException>(() => _ = new GeneratorOptions { StopStrings = new[] { new string('x', 257) } })!.ParamName, Is.EqualTo("StopStrings"));
        Assert.That(Assert.Throws<ArgumentException>(() => _ = new GeneratorOptions { StopStrings = new[] { "\uDC00x" } })!.ParamName, Is.EqualTo("StopStrings"));
        Assert.That(Assert.Throws<ArgumentException>(() => _ = new GeneratorOptions { StopStrings = Enumerable.Repeat("x", 65).ToArray() })!.ParamName, Is.EqualTo("StopStrings"));
        Assert.That(Assert.Throws<ArgumentException>(() => _ = new GeneratorOptions { UnknownCharacters = (UnknownCharacterHandling)7 })!.ParamName, Is.EqualTo("UnknownCharacters"));
        Assert.That(Assert.Throws<ArgumentException>(() => _ = new GeneratorOptions { ReplacementCharacter = 0xD800 })!.ParamName, Is.EqualTo("ReplacementCharacter"));
        Assert.That(Assert.Throws<ArgumentException>(() => _ = new GeneratorOptions { Sampling = null! })!.ParamName, Is.EqualTo("Sampling"));
    }

    [Test]
    public void StopStringsAreCopied()
    {
        var stops = new List<string> { "ab" };
        var options = new GeneratorOptions { StopStrings = stops };
        stops[0] = "zz";
        Assert.That(options.StopStrings, Is.EqualTo(new[] { "ab" }));
    }

    [Test]
    public void FeedTokenRejectsIdsOutsideTheVocabulary()
    {
        TextGenerator generator = TestModels.Create(CellKind.Rnn, vocab: 12).CreateGenerator();
        Assert.Throws<ArgumentOutOfRangeException>(() => generator.FeedToken(12));
        Assert.Throws<ArgumentOutOfRangeException>(() => generator.FeedToken(-1));
    }

    private static bool IsWellFormed(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]))
            {
                if (i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1])) return false;
                i++;
            }
            else if (char.IsLowSurrogate(text[i]))
            {
                return false;
            }
        }
        return true;
    }
}
