using TextGen.Runtime.Format;
using TextGen.Runtime.Generation;
using TextGen.Runtime.Model;

namespace TextGen.Tests.Generation;

/// <summary>The test models' vocabulary is the ASCII run from space: ' ' to '=' for 30 symbols.</summary>
internal sealed class PrimeTests
{
    [Test]
    public void AnUnknownCharacterThrowsNamingItsPositionAndCodePointAndFeedsNothing()
    {
        TextGenerator generator = TestModels.Create().CreateGenerator();
        float[] before = generator.Logits.ToArray();
        var error = Assert.Throws<UnknownCharacterException>(() => generator.Prime("#$ é!"))!;
        Assert.That(error.Position, Is.EqualTo(3));
        Assert.That(error.CodePoint, Is.EqualTo(0xE9));
        Assert.That(error.Message, Does.Contain("'é'").And.Contain("U+00E9").And.Contain("position 3"));
        Assert.That(generator.Logits.ToArray(), Is.EqualTo(before));
    }

    [Test]
    public void CharactersOutsideTheBmpAndLoneSurrogatesAreReportedPrecisely()
    {
        TextGenerator generator = TestModels.Create().CreateGenerator();
        var emoji = Assert.Throws<UnknownCharacterException>(() => generator.Prime("#\U0001F600"))!;
        Assert.That(emoji.CodePoint, Is.EqualTo(0x1F600));
        Assert.That(emoji.Position, Is.EqualTo(1));
        var lone = Assert.Throws<UnknownCharacterException>(() => generator.Prime("##\uD800#"))!;
        Assert.That(lone.CodePoint, Is.EqualTo(0xD800));
        Assert.That(lone.Position, Is.EqualTo(2));
        Assert.That(lone.Message, Does.Contain("surrogate"));
    }

    [Test]
    public void SkipLeavesUnknownCharactersOut()
    {
        TextModel model = TestModels.Create();
        TextGenerator skipping = model.CreateGenerator(new GeneratorOptions { UnknownCharacters = UnknownCharacterHandling.Skip });
        TextGenerator plain = model.CreateGenerator();
        skipping.Prime("#é$\uD800%");
        plain.Prime("#$%");
        Assert.That(skipping.Logits.ToArray(), Is.EqualTo(plain.Logits.ToArray()));
    }

    [Test]
    public void ReplaceFeedsTheReplacementCharacter()
    {
        TextModel model = TestModels.Create();
        TextGenerator replacing = model.CreateGenerator(new GeneratorOptions { UnknownCharacters = UnknownCharacterHandling.Replace, ReplacementCharacter = '*' });
        TextGenerator plain = model.CreateGenerator();
        replacing.Prime("#é$");
        plain.Prime("#*$");
        Assert.That(replacing.Logits.ToArray(), Is.EqualTo(plain.Logits.ToArray()));
    }

    [Test]
    public void AReplacementOutsideTheVocabularyIsRefusedAtCreation()
    {
        var error = Assert.Throws<ArgumentException>(() => TestModels.Create().CreateGenerator(
            new GeneratorOptions { UnknownCharacters = UnknownCharacterHandling.Replace, ReplacementCharacter = 'z' }))!;
        Assert.That(error.Message, Does.Contain("U+007A"));
    }

    [Test]
    public void PrimingIsFeedingOneCharacterAtATime()
    {
        TextModel model = TestModels.Create(CellKind.Gru);
        TextGenerator primed = model.CreateGenerator();
        TextGenerator fed = model.CreateGenerator();
        primed.Prime("$#!");
        foreach (char c in "$#!")
        {
            model.TryGetTokenId(c, out int id);
            fed.FeedToken(id);
        }
        Assert.That(primed.Logits.ToArray(), Is.EqualTo(fed.Logits.ToArray()));
    }
}
