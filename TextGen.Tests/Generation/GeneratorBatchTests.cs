using TextGen.Runtime.Format;
using TextGen.Runtime.Generation;
using TextGen.Runtime.Kernels;
using TextGen.Runtime.Model;
using TextGen.Runtime.Sampling;
using TextGen.Tests.Kernels;
using TextGen.Tests.Support;

namespace TextGen.Tests.Generation;

/// <summary>
/// A batch gives every generator exactly what calling its own NextChar in turn gives: the same chars, −1s and state
/// bytes, for every cell, input kind, depth, dtype and kernel setting, with options, stop strings and lengths that
/// differ per generator.
/// </summary>
internal sealed class GeneratorBatchTests
{
    private const int Generators = 6;
    private const int Calls = 160;

    private static IEnumerable<TestCaseData> Models()
    {
        foreach (CellKind cell in new[] { CellKind.Rnn, CellKind.Gru, CellKind.Lstm })
        foreach (string input in new[] { "one-hot", "table", "embedding" })
        foreach (int layers in new[] { 1, 2, 3 })
        foreach (TensorDType dtype in new[] { TensorDType.F32, TensorDType.F16, TensorDType.Q8 })
        {
            // keep the product of the lists small: every input kind and depth in f32, the encoded dtypes on two depths
            if (dtype != TensorDType.F32 && layers == 3) continue;
            yield return new TestCaseData(cell, input, layers, dtype).SetArgDisplayNames(cell.ToString(), input, $"{layers} layers", dtype.ToString());
        }
    }

    // Each generator different: seed, temperature or argmax, top-k/top-p, stop strings, max length, determinism.
    private static GeneratorOptions OptionsFor(int i, bool strict) => new()
    {
        Seed = (ulong)(100 + i),
        StrictDeterminism = strict,
        Sampling = new SamplingOptions { Temperature = i == 3 ? 0 : 0.6 + 0.1 * i, TopK = i == 4 ? 5 : 0, TopP = i == 5 ? 0.9 : 1 },
        StopStrings = i % 2 == 0 ? new[] { "$%", "&&&", "''''''''" } : Array.Empty<string>(),
        MaxLength = i == 1 ? 40 : i == 2 ? 90 : null,
    };

    private static TextModel Model(CellKind cell, string input, int layers, TensorDType dtype)
    {
        var architecture = RandomModels.Architecture(cell, layers, hidden: 20, embedding: input == "one-hot" ? 0 : 6, vocab: 30);
        ModelFile file = RandomModels.Create(architecture, seed: 8, scale: 0.8f).ConvertTo(dtype);
        // f16 kept as f16: a model this small would otherwise be widened to f32 at load, and the batched f16 tiles never run.
        TextModel model = TextModel.FromFile(file, input == "embedding" ? 0 : ModelWeights.DefaultMaxInputTableFloats, portableLayout: dtype == TensorDType.F16 ? false : null);
        Assert.That(model.Weights.HeadWeight.DType, Is.EqualTo(dtype), "the kernels of the dtype under test run");
        Assert.That(model.Weights.HeadWeight.RowScaledQuants, Is.EqualTo(dtype == TensorDType.Q8), "q8 as the exporter writes it, which has batched tiles");
        return model;
    }

    [TestCaseSource(nameof(Models))]
    public void NextCharsEqualNextCharOneByOneInFastAndStrictMode(CellKind cell, string input, int layers, TensorDType dtype)
    {
        TextModel model = Model(cell, input, layers, dtype);
        foreach (bool strict in new[] { false, true })
        {
            var (alone, batched) = Twins(model, Generators, i => OptionsFor(i, strict));
            for (int i = 0; i < Generators; i += 2)
            {
                // some primed with cues of different lengths, the others starting from the empty context
                alone[i].Prime(new string('(', i + 1) + "+,");
                batched[i].Prime(new string('(', i + 1) + "+,");
            }
            AssertSameAsOneByOne(new GeneratorBatch(model, batched), alone, Calls, $"{(strict ? "strict" : "fast")}");
        }
    }

    // Cues of every length from none to 38 chars, with characters outside the vocabulary (' ' to '=') for the
    // generators whose options skip (1) or replace (2) them.
    private static readonly string[] Cues = { "", "(z+,", "((z(+,y\U0001F600", "!\"#$%&'()*+,-./0123456789:;<=", "+", new string('(', 38) };

    // Cues in order, then reversed; the unknown characters left only where the options skip or replace them.
    private static string CueFor(int i, int round)
    {
        string cue = Cues[round == 0 ? i : Cues.Length - 1 - i];
        return i is 1 or 2 ? cue : new string(cue.Where(c => c is >= ' ' and <= '=').ToArray());
    }

    private static GeneratorOptions PrimingOptionsFor(int i, bool strict) => OptionsFor(i, strict) with
    {
        UnknownCharacters = i == 1 ? UnknownCharacterHandling.Skip : i == 2 ? UnknownCharacterHandling.Replace : UnknownCharacterHandling.Throw,
        ReplacementCharacter = ' ',
    };

    [TestCaseSource(nameof(Models))]
    public void PrimeFeedsEveryGeneratorWhatItsOwnPrimeFeeds(CellKind cell, string input, int layers, TensorDType dtype)
    {
        TextModel model = Model(cell, input, layers, dtype);
        foreach (bool strict in new[] { false, true })
        {
            var (alone, batched) = Twins(model, Generators, i => PrimingOptionsFor(i, strict));
            var batch = new GeneratorBatch(model, batched);
            // From the empty context, then again mid-text, where a prime continues from the state the text left.
            for (int round = 0; round < 2; round++)
            {
                for (int i = 0; i < Generators; i++) alone[i].Prime(CueFor(i, round));
                batch.Prime(Enumerable.Range(0, Generators).Select(i => CueFor(i, round)).ToArray());
                for (int i = 0; i < Generators; i++) Assert.That(batched[i].SaveState(), Is.EqualTo(alone[i].SaveState()), $"{(strict ? "strict" : "fast")}, round {round}, generator {i}");
                AssertSameAsOneByOne(batch, alone, 60, $"{(strict ? "strict" : "fast")}, round {round}");
            }
        }
    }

    [Test]
    public void APrimeThatOneGeneratorRefusesFeedsNoGenerator()
    {
        TextModel model = TestModels.Create(CellKind.Lstm, hidden: 24, vocab: 30);
        TextGenerator[] generators = Enumerable.Range(0, 4).Select(i => model.CreateGenerator(PrimingOptionsFor(i, strict: false))).ToArray();
        var batch = new GeneratorBatch(model, generators);
        batch.Prime(new[] { "((", "+", ",", "(" });
        byte[][] before = generators.Select(g => g.SaveState()).ToArray();

        // generator 3 throws on 'z'; generators 1 and 2 would skip or replace it
        var e = Assert.Throws<UnknownCharacterException>(() => batch.Prime(new[] { "((((", "z", "z", "((z" }))!;
        Assert.That(e.Message, Does.StartWith("Cue 3: The character 'z' (U+007A) at position 2 "));
        Assert.That((e.CodePoint, e.Position), Is.EqualTo(((int)'z', 2)));
        for (int i = 0; i < 4; i++) Assert.That(generators[i].SaveState(), Is.EqualTo(before[i]), $"generator {i}");
    }

    [Test]
    public void BadCueListsAreRefusedAndChangeNothing()
    {
        TextModel model = TestModels.Create();
        TextGenerator[] generators = { model.CreateGenerator(), model.CreateGenerator() };
        var batch = new GeneratorBatch(model, generators);
        Assert.That(batch.Model, Is.SameAs(model));
        byte[][] before = generators.Select(g => g.SaveState()).ToArray();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(() => batch.Prime(null!), Throws.ArgumentNullException);
            Assert.That(() => batch.Prime(new[] { "(" }), Throws.ArgumentException.With.Message.Contains("1 cues for a batch of 2 generators"));
            Assert.That(() => batch.Prime(new[] { "(", null! }), Throws.ArgumentException.With.Message.Contains("cue 1 is null"));
        }
        for (int i = 0; i < 2; i++) Assert.That(generators[i].SaveState(), Is.EqualTo(before[i]), $"generator {i}");
    }

    [Test]
    public void GeneratorsOnEveryKernelPathAndModeShareABatch()
    {
        TextModel model = TestModels.Create(CellKind.Lstm, layers: 2, hidden: 20, embedding: 6, vocab: 37);
        var modes = AllKernelPaths.Modes().Select(c => (KernelMode)c.Arguments[0]!).ToArray();
        GeneratorOptions Options(int i) => OptionsFor(i % Generators, modes[i % modes.Length].Strict) with { KernelPath = modes[i % modes.Length].Path };
        var (alone, batched) = Twins(model, 2 * modes.Length, Options);
        AssertSameAsOneByOne(new GeneratorBatch(model, batched), alone, Calls, "every mode");
    }

    [Test]
    public void FinishedGeneratorsGiveMinusOneWhileTheOthersGoOnAndStartAgainWhenPrimed()
    {
        TextModel model = TestModels.Create(CellKind.Gru, hidden: 24);
        GeneratorOptions Short(int length) => new() { Seed = (ulong)length, MaxLength = length, Sampling = new SamplingOptions { Temperature = 0.9 } };
        var batch = new GeneratorBatch(model, new[] { model.CreateGenerator(Short(3)), model.CreateGenerator(Short(10)), model.CreateGenerator() });
        var results = new int[3];
        for (int call = 0; call < 12; call++)
        {
            int produced = batch.NextChars(results);
            Assert.That(results[0] >= 0, Is.EqualTo(call < 3), $"call {call}");
            Assert.That(results[1] >= 0, Is.EqualTo(call < 10), $"call {call}");
            Assert.That(results[2], Is.GreaterThanOrEqualTo(0));
            Assert.That(produced, Is.EqualTo(results.Count(r => r >= 0)));
        }
        Assert.That(batch[0].IsFinished && batch[1].IsFinished && !batch.IsFinished);

        batch[0].Prime("$");
        batch.NextChars(results);
        Assert.That(results[0], Is.GreaterThanOrEqualTo(0), "primed again, the generator writes a new line");
    }

    [Test]
    public void StateSavedMidBatchContinuesIdenticallyInAnotherBatchAndAlone()
    {
        TextModel model = TestModels.Create(CellKind.Lstm, layers: 2, hidden: 24);
        TextGenerator[] first = Enumerable.Range(0, 4).Select(i => model.CreateGenerator(OptionsFor(i, strict: false))).ToArray();
        var batch = new GeneratorBatch(model, first);
        var results = new int[4];
        for (int call = 0; call < 25; call++) batch.NextChars(results);
        byte[][] saved = first.Select(g => g.SaveState()).ToArray();
        string[] continued = Read(batch, 60);

        TextGenerator[] restored = Enumerable.Range(0, 4).Select(i => model.CreateGenerator(OptionsFor(i, strict: false))).ToArray();
        for (int i = 0; i < 4; i++) restored[i].RestoreState(saved[i]);
        Assert.That(Read(new GeneratorBatch(model, restored), 60), Is.EqualTo(continued), "a new batch of restored generators");

        TextGenerator alone = model.CreateGenerator(OptionsFor(2, strict: false));
        alone.RestoreState(saved[2]);
        Assert.That(string.Concat(Enumerable.Range(0, 60).Select(_ => Unit(alone.NextChar()))), Is.EqualTo(continued[2]), "one generator alone");

        // restoring a generator between two calls of its batch
        first[1].RestoreState(saved[1]);
        Assert.That(Read(batch, 60)[1], Is.EqualTo(continued[1]));
    }

    [Test]
    public void CharactersOutsideTheBmpArriveAsSurrogatePairsOverTwoCalls()
    {
        TextModel model = TestModels.WithEmoji();
        var (alone, batched) = Twins(model, 3, i => new GeneratorOptions { Seed = (ulong)i, StopStrings = new[] { "\U0001F600\U0001F600" } });
        string[] texts = AssertSameAsOneByOne(new GeneratorBatch(model, batched), alone, 200, "emoji");
        Assert.That(string.Concat(texts).Any(char.IsSurrogate), "the test must produce surrogate pairs");
    }

    [TestCase(KernelPath.Vector512)]
    [TestCase(KernelPath.Vector256)]
    [TestCase(KernelPath.Vector)]
    public void AnF32BatchMakesTheLanePanelsWhereItsPathServesThemWhenOneKernelSettingHasFiveGenerators(KernelPath path)
    {
        bool serves = path switch
        {
            KernelPath.Vector512 => System.Runtime.Intrinsics.X86.Avx512F.IsSupported,
            KernelPath.Vector256 => System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated,
            _ => false,
        };
        TextModel Model() => TestModels.Create(CellKind.Lstm, layers: 2, hidden: 32, vocab: 30);
        TextGenerator[] Crowd(TextModel model, int count, bool mixed)
            => Enumerable.Range(0, count).Select(i => model.CreateGenerator(OptionsFor(i % Generators, strict: mixed && i % 2 == 1) with { KernelPath = path })).ToArray();
        bool HasPanels(TextModel model) => model.Weights.Layers.All(l => l.HiddenWeights.Panel is not null) && model.Weights.HeadWeight.Panel is not null;

        TextModel four = Model();
        _ = new GeneratorBatch(four, Crowd(four, 4, mixed: false));
        Assert.That(HasPanels(four), Is.False, "4 generators keep the column tiles");
        TextModel splitSix = Model();
        _ = new GeneratorBatch(splitSix, Crowd(splitSix, 6, mixed: true));
        Assert.That(HasPanels(splitSix), Is.False, "6 generators stepped as 3 strict and 3 fast");
        TextModel six = Model();
        _ = new GeneratorBatch(six, Crowd(six, 6, mixed: false));
        Assert.That(HasPanels(six), Is.EqualTo(serves), $"6 generators of one setting, on the {path} path");
    }

    [TestCase(KernelPath.Vector512)]
    [TestCase(KernelPath.Vector256)]
    [TestCase(KernelPath.Vector)]
    public void ARowScaledQ8BatchHoldsTheWorkspaceOfItsTilesWhereItsPathServesThem(KernelPath path)
    {
        // The q8 tiles decline a short workspace and the batch then steps its sessions one at a time, with the same bits:
        // only the workspace shows that a batch of 2 or more generators of one setting can take them (AVX2, unless the
        // 512-bit path has AVX-512BW's single-session kernel), for every product of a step: each layer's, and the head's.
        bool serves = System.Runtime.Intrinsics.X86.Avx2.IsSupported && path != KernelPath.Vector
            && !(path == KernelPath.Vector512 && System.Runtime.Intrinsics.X86.Avx512BW.IsSupported);
        foreach (string input in new[] { "table", "embedding" })
        {
            TextModel model = Model(CellKind.Gru, input, layers: 2, TensorDType.Q8);
            TextGenerator[] Crowd(int count) => Enumerable.Range(0, count).Select(i => model.CreateGenerator(OptionsFor(i, strict: false) with { KernelPath = path })).ToArray();
            int needed = RowQ8MatrixVector.BatchWorkspaceFloats(0, model.Weights.HiddenSize, 3);
            foreach (LayerWeights layer in model.Weights.Layers) needed = Math.Max(needed, RowQ8MatrixVector.BatchWorkspaceFloats(layer.InputWeights.Columns, layer.HiddenWeights.Columns, 3));
            var batch = new GeneratorBatch(model, Crowd(3));
            if (serves) Assert.That(batch.KernelWorkspaceFloats, Is.GreaterThanOrEqualTo(needed), $"{input}: 3 generators on the {path} path");
            else Assert.That(batch.KernelWorkspaceFloats, Is.Zero, $"{input}: the {path} path steps q8 sessions one at a time");
            Assert.That(new GeneratorBatch(model, Crowd(1)).KernelWorkspaceFloats, Is.Zero, $"{input}: one generator takes the single-session kernels");
        }
    }

    [TestCase(CellKind.Rnn, 8)]
    [TestCase(CellKind.Gru, 8)]
    [TestCase(CellKind.Lstm, 8)]
    [TestCase(CellKind.Lstm, 1)] // one session takes the single-session kernels
    [TestCase(CellKind.Lstm, 8, TensorDType.Q8)] // row-scaled q8's batched tiles quantize into the batch's workspace
    [TestCase(CellKind.Gru, 8, TensorDType.Q8)]
    public void NextCharsAllocatesNothing(CellKind cell, int generators, TensorDType dtype = TensorDType.F32)
    {
        TextModel model = TextModel.FromFile(RandomModels.Create(RandomModels.Architecture(cell, layers: 2, hidden: 48, embedding: 8, vocab: 40), seed: 1, scale: 0.8f).ConvertTo(dtype));
        var batch = new GeneratorBatch(model, Enumerable.Range(0, generators).Select(i => model.CreateGenerator(OptionsFor(i % Generators, strict: i % 3 == 0) with
        {
            MaxLength = null,
            StopStrings = new[] { "!!!!!!!!!!!!", "$%$%$%$%$%" }, // long enough to hold characters back now and then, unlikely to ever complete
        })));
        var results = new int[batch.Count];
        int produced = 0;
        void Step(int calls)
        {
            for (int i = 0; i < calls; i++) produced += batch.NextChars(results);
        }
        Step(1_000);
        long allocated = ThreadAllocations.During(() =>
        {
            produced = 0; // During may run the action again: each run counts its own characters
            Step(1_500);
        });
        Assert.That(produced, Is.GreaterThan(1_500 * generators / 2), "most generators keep producing");
        Assert.That(allocated, Is.Zero);
    }

    [Test]
    public void PrimeAllocatesNothing()
    {
        TextModel model = TestModels.Create(CellKind.Lstm, layers: 2, hidden: 48, vocab: 40);
        var batch = new GeneratorBatch(model, Enumerable.Range(0, 8).Select(i => model.CreateGenerator(PrimingOptionsFor(i % Generators, strict: i % 3 == 0))));
        string[] cues = Enumerable.Range(0, 8).Select(i => CueFor(i % Generators, round: 0)).ToArray();
        batch.Prime(cues);
        long allocated = ThreadAllocations.During(() =>
        {
            for (int i = 0; i < 20; i++) batch.Prime(cues);
        });
        Assert.That(allocated, Is.Zero);
    }

    [Test]
    public void BadGeneratorListsAreRefusedByName()
    {
        TextModel model = TestModels.Create();
        TextModel other = TestModels.Create();
        TextGenerator g = model.CreateGenerator();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(() => new GeneratorBatch(model, Array.Empty<TextGenerator>()), Throws.ArgumentException.With.Message.Contains("at least one generator"));
            Assert.That(() => new GeneratorBatch(model, new[] { g, model.CreateGenerator(), g }), Throws.ArgumentException.With.Message.Contains("generator 2 is already in the batch"));
            Assert.That(() => new GeneratorBatch(model, new[] { g, other.CreateGenerator() }), Throws.ArgumentException.With.Message.Contains("generator 1 was created by another model"));
            Assert.That(() => new GeneratorBatch(model, new[] { g, null! }), Throws.ArgumentException.With.Message.Contains("generator 1 is null"));
            Assert.That(() => new GeneratorBatch(null!, new[] { g }), Throws.ArgumentNullException);
            Assert.That(() => new GeneratorBatch(model, null!), Throws.ArgumentNullException);
            Assert.That(() => new GeneratorBatch(model, new[] { g }).NextChars(new int[2]), Throws.ArgumentException.With.Message.Contains("the batch has 1 generators"));
        }
    }

    private static string Unit(int unit) => unit < 0 ? "" : ((char)unit).ToString();

    // `calls` calls of NextChars, each generator's chars as a string (−1 adds nothing).
    private static string[] Read(GeneratorBatch batch, int calls)
    {
        var texts = Enumerable.Range(0, batch.Count).Select(_ => new System.Text.StringBuilder()).ToArray();
        var results = new int[batch.Count];
        for (int call = 0; call < calls; call++)
        {
            batch.NextChars(results);
            for (int i = 0; i < batch.Count; i++) texts[i].Append(Unit(results[i]));
        }
        return texts.Select(t => t.ToString()).ToArray();
    }

    // Runs the batch and each twin's NextChar call for call, comparing every result, then the texts' state bytes.
    // Two sets of generators with the same options, one to step alone and one to batch: twins must stay identical.
    private static (TextGenerator[] Alone, TextGenerator[] Batched) Twins(TextModel model, int count, Func<int, GeneratorOptions> options)
    {
        TextGenerator[] Create() => Enumerable.Range(0, count).Select(i => model.CreateGenerator(options(i))).ToArray();
        return (Create(), Create());
    }

    private static string[] AssertSameAsOneByOne(GeneratorBatch batch, TextGenerator[] alone, int calls, string what)
    {
        var results = new int[batch.Count];
        var texts = Enumerable.Range(0, batch.Count).Select(_ => new System.Text.StringBuilder()).ToArray();
        bool someFinished = false;
        for (int call = 0; call < calls; call++)
        {
            batch.NextChars(results);
            for (int i = 0; i < batch.Count; i++)
            {
                int expected = alone[i].NextChar();
                if (results[i] != expected) Assert.Fail($"{what}: generator {i}, call {call}: batch {results[i]}, alone {expected}");
                texts[i].Append(Unit(expected));
                someFinished |= expected < 0;
            }
        }
        for (int i = 0; i < batch.Count; i++)
        {
            Assert.That(batch[i].SaveState(), Is.EqualTo(alone[i].SaveState()), $"{what}: generator {i}'s state");
            Assert.That(batch[i].Logits.ToArray(), Is.EqualTo(alone[i].Logits.ToArray()), $"{what}: generator {i}'s logits");
        }
        Assert.That(texts.Select(t => t.ToString()).Distinct().Count(), Is.GreaterThan(1), $"{what}: the generators must differ");
        if (alone.Any(g => g.Options.MaxLength is not null)) Assert.That(someFinished, $"{what}: some generator must finish");
        return texts.Select(t => t.ToString()).ToArray();
    }
}
