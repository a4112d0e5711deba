using System.Buffers.Binary;
using TextGen.Runtime.Format;
using TextGen.Runtime.Generation;
using TextGen.Runtime.Model;
using TextGen.Runtime.Sampling;

namespace TextGen.Tests.Generation;

internal sealed class SnapshotTests
{
    private static readonly GeneratorOptions Options = new() { Seed = 21, Sampling = new SamplingOptions { Temperature = 0.8, TopP = 0.9 } };

    [TestCase(CellKind.Rnn)]
    [TestCase(CellKind.Gru)]
    [TestCase(CellKind.Lstm)]
    public void RestoreContinuesIdenticallyInTheSameAndInAFreshGenerator(CellKind cell)
    {
        TextModel model = TestModels.Create(cell);
        TextGenerator generator = model.CreateGenerator(Options);
        generator.Prime("#$%");
        generator.GenerateString(50);
        byte[] state = generator.SaveState();
        Assert.That(state, Has.Length.EqualTo(generator.StateSize));
        string expected = generator.GenerateString(200);

        generator.RestoreState(state);
        Assert.That(generator.GenerateString(200), Is.EqualTo(expected));

        TextGenerator fresh = TestModels.Create(cell).CreateGenerator(Options with { Seed = 999 });
        fresh.RestoreState(state);
        Assert.That(fresh.GenerateString(200), Is.EqualTo(expected), "a fresh generator on a reloaded model");
    }

    [Test]
    public void RestoreCarriesTheStopWindowPendingCharsAndCountersAtEveryPoint()
    {
        TextModel model = TestModels.WithEmoji();
        // stop strings sharing prefixes keep chars held back at many points of the text
        var options = new GeneratorOptions { Seed = 5, MaxLength = 300, StopStrings = new[] { "ab\U0001F600b", "a a a", "\U0001F642\U0001F642\U0001F642\U0001F642" } };
        string full = TestModels.Read(model.CreateGenerator(options));
        int emptyWindowSize = model.CreateGenerator(options).StateSize; // the state grows by the chars held back or unread
        int pointsWithCharsInTheWindow = 0;
        for (int k = 0; k <= full.Length; k++)
        {
            TextGenerator original = model.CreateGenerator(options);
            string head = k == 0 ? string.Empty : TestModels.Read(original, k);
            if (original.StateSize > emptyWindowSize) pointsWithCharsInTheWindow++;
            var state = new byte[original.StateSize + 10];
            int written = original.SaveState(state);
            Assert.That(written, Is.EqualTo(original.StateSize));
            TextGenerator restored = model.CreateGenerator(options);
            restored.RestoreState(state.AsSpan(0, written));
            Assert.That(head + TestModels.Read(restored), Is.EqualTo(full), $"saved after {k} chars");
            Assert.That(restored.IsFinished, Is.True);
        }
        Assert.That(pointsWithCharsInTheWindow, Is.GreaterThanOrEqualTo(10), "the stop strings held chars back at many of the points saved");
    }

    [Test]
    public void GarbageIsRefusedClearly()
    {
        TextGenerator generator = TestModels.Create().CreateGenerator(Options);
        var tooShort = Assert.Throws<GeneratorStateException>(() => generator.RestoreState(new byte[3]))!;
        Assert.That(tooShort.Problem, Does.Contain("too few"));
        Assert.That(tooShort.Message, Is.EqualTo("Cannot restore the generator state: " + tooShort.Problem));
        var random = new Random(1);
        var garbage = new byte[500];
        random.NextBytes(garbage);
        Assert.That(Assert.Throws<GeneratorStateException>(() => generator.RestoreState(garbage))!.Message, Does.Contain("not a TextGen generator state"));
    }

    [Test]
    public void EveryTruncationAndEveryBitFlipIsRefused()
    {
        TextGenerator generator = TestModels.Create(CellKind.Gru, layers: 1, hidden: 8, vocab: 12).CreateGenerator(Options with { StopStrings = new[] { "!!" } });
        generator.GenerateString(30);
        byte[] state = generator.SaveState();
        for (int length = 0; length < state.Length; length++)
        {
            Assert.Throws<GeneratorStateException>(() => generator.RestoreState(state.AsSpan(0, length)), $"truncated to {length}");
        }
        for (int bit = 0; bit < state.Length * 8; bit++)
        {
            var flipped = (byte[])state.Clone();
            flipped[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.Throws<GeneratorStateException>(() => generator.RestoreState(flipped), $"bit {bit} flipped");
        }
        Assert.Throws<GeneratorStateException>(() => generator.RestoreState(state.Concat(new byte[1]).ToArray()));
    }

    [Test]
    public void AStateFromAnotherModelIsRefused()
    {
        byte[] state = TestModels.Create(seed: 1).CreateGenerator(Options).SaveState();
        var sameShape = Assert.Throws<GeneratorStateException>(() => TestModels.Create(seed: 2).CreateGenerator(Options).RestoreState(state))!;
        Assert.That(sameShape.Message, Does.Contain("different model"));
        var otherShape = Assert.Throws<GeneratorStateException>(() => TestModels.Create(CellKind.Rnn, hidden: 10).CreateGenerator(Options).RestoreState(state))!;
        Assert.That(otherShape.Message, Does.Contain("different model"));
    }

    [Test]
    public void AFailedRestoreChangesNothing()
    {
        TextModel model = TestModels.Create();
        TextGenerator generator = model.CreateGenerator(Options);
        generator.Prime("#$");
        byte[] state = generator.SaveState();
        byte[] corrupted = (byte[])state.Clone();
        corrupted[40] ^= 1;
        Assert.Throws<GeneratorStateException>(() => generator.RestoreState(corrupted));
        Assert.That(generator.SaveState(), Is.EqualTo(state));
    }

    [TestCase(CellKind.Rnn, 0x7FC00000, "NaN")]
    [TestCase(CellKind.Gru, 0x7F800000, "+Infinity")]
    [TestCase(CellKind.Lstm, unchecked((int)0xFF800000), "-Infinity")]
    public void AResealedStateWithANonFiniteNumberIsRefusedAndChangesNothing(CellKind cell, int bits, string described)
    {
        TextGenerator generator = TestModels.Create(cell, layers: 2, hidden: 24).CreateGenerator(Options);
        generator.Prime("#$");
        byte[] state = generator.SaveState();
        // The last float of the state: layer 1's h for one vector per layer, layer 1's c for the LSTM's two.
        const int header = 4 + 2 + 8 + 2 + 4 + 1;
        int vectors = cell == CellKind.Lstm ? 2 : 1;
        byte[] edited = (byte[])state.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(edited.AsSpan(header + 4 * (2 * vectors * 24 - 1)), bits);
        BinaryPrimitives.WriteUInt64LittleEndian(edited.AsSpan(edited.Length - 8), StateSnapshotReader.Checksum(edited.AsSpan(0, edited.Length - 8)));

        var e = Assert.Throws<GeneratorStateException>(() => generator.RestoreState(edited))!;
        Assert.That(e.Message, Does.Contain($"layer 1 {(vectors == 2 ? "c" : "h")}[23] is {described}"));
        Assert.That(generator.SaveState(), Is.EqualTo(state));
    }

    [Test]
    public void ATooSmallDestinationIsRefused()
    {
        TextGenerator generator = TestModels.Create().CreateGenerator(Options);
        Assert.Throws<ArgumentException>(() => generator.SaveState(new byte[generator.StateSize - 1]));
    }
}
