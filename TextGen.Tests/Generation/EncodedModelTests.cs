using TextGen.Runtime.Format;
using TextGen.Runtime.Generation;
using TextGen.Runtime.Kernels;
using TextGen.Runtime.Model;
using TextGen.Runtime.Sampling;
using TextGen.Tests.Kernels;
using TextGen.Tests.Support;

namespace TextGen.Tests.Generation;

/// <summary>Generation with f16 and q8 weights: f16 exact against its decoded values, q8 identical on every path, both close to f32, deterministic, allocation-free.</summary>
internal sealed class EncodedModelTests
{
    private const string Text = "the quick brown fox jumps over the lazy dog, then sleeps; THE END? no!";

    private static IEnumerable<TestCaseData> Cases()
    {
        foreach (TensorDType dtype in new[] { TensorDType.F16, TensorDType.Q8 })
        foreach (CellKind cell in new[] { CellKind.Rnn, CellKind.Gru, CellKind.Lstm })
        foreach (int embedding in new[] { 0, 8 })
        {
            yield return new TestCaseData(dtype, cell, embedding);
        }
    }

    private static ModelFile F32(CellKind cell, int embedding)
        => RandomModels.Create(new ModelArchitecture(cell, 2, 40, embedding, Text.Distinct().Select(c => (int)c).ToArray()), seed: 5, scale: 0.3f);

    private static IEnumerable<TestCaseData> CellsAndEmbeddings()
    {
        foreach (CellKind cell in new[] { CellKind.Rnn, CellKind.Gru, CellKind.Lstm })
        foreach (int embedding in new[] { 0, 8 })
        {
            yield return new TestCaseData(cell, embedding);
        }
    }

    [TestCaseSource(nameof(CellsAndEmbeddings))]
    public void StrictF16LogitsEqualAnF32ModelOfTheDecodedWeights(CellKind cell, int embedding)
    {
        // The f16 kernels decode exactly what ConvertTo(F32) decodes and sum in the same order, so strict mode is
        // bit-identical. (q8 quantizes the vector too, so it has its own order: see the next test.)
        const TensorDType dtype = TensorDType.F16;
        ModelFile encoded = F32(cell, embedding).ConvertTo(dtype);
        var options = new GeneratorOptions { StrictDeterminism = true };
        // Kept as f16: a model this small would otherwise be widened to f32 at load and never reach the f16 kernels.
        TextModel kept = TextModel.FromFile(encoded, ModelWeights.DefaultMaxInputTableFloats, portableLayout: false);
        Assert.That(kept.Weights.HeadWeight.DType, Is.EqualTo(TensorDType.F16));
        TextGenerator actual = kept.CreateGenerator(options);
        TextGenerator expected = TextModel.FromFile(encoded.ConvertTo(TensorDType.F32)).CreateGenerator(options);
        foreach (char c in Text)
        {
            actual.Prime(c.ToString());
            expected.Prime(c.ToString());
            Assert.That(actual.Logits.ToArray(), Is.EqualTo(expected.Logits.ToArray()));
        }
    }

    [TestCaseSource(nameof(CellsAndEmbeddings))]
    public void F16WidenedAtLoadGivesTheBitsOfF16DecodedPerStepOnEveryPathAndMode(CellKind cell, int embedding)
    {
        // Machines without 256-bit kernels (netstandard2.1 builds, ARM) widen f16 matrices to f32 at load, which runs
        // their Vector<T> path about ten times faster; the choice must not change a bit, in either mode.
        ModelFile encoded = F32(cell, embedding).ConvertTo(TensorDType.F16);
        TextModel widened = TextModel.FromFile(encoded, ModelWeights.DefaultMaxInputTableFloats, portableLayout: true);
        TextModel kept = TextModel.FromFile(encoded, ModelWeights.DefaultMaxInputTableFloats, portableLayout: false);
        Assert.That((widened.Weights.HeadWeight.DType, kept.Weights.HeadWeight.DType), Is.EqualTo((TensorDType.F32, TensorDType.F16)));
        AssertSameBitsOnEveryPathAndMode(widened, kept);
    }

    /// <summary>Logits after each character of <see cref="Text"/>, then 200 generated characters, the same on every path in both modes.</summary>
    private static void AssertSameBitsOnEveryPathAndMode(TextModel first, TextModel second)
    {
        foreach (KernelPath path in AllKernelPaths.Paths)
        foreach (bool strict in new[] { false, true })
        {
            var options = new GeneratorOptions { Seed = 9, StrictDeterminism = strict, KernelPath = path };
            TextGenerator a = first.CreateGenerator(options), b = second.CreateGenerator(options);
            foreach (char c in Text)
            {
                a.Prime(c.ToString());
                b.Prime(c.ToString());
                Assert.That(a.Logits.ToArray().Select(BitConverter.SingleToInt32Bits), Is.EqualTo(b.Logits.ToArray().Select(BitConverter.SingleToInt32Bits)), $"{path} strict={strict} after '{c}'");
            }
            Assert.That(TestModels.Read(a, 200), Is.EqualTo(TestModels.Read(b, 200)), $"{path} strict={strict}");
        }
    }

    [Test]
    public void ThisMachineLaysWeightsOutForItsBestKernels()
    {
        // Small f16 models (this one's matrices are 0.1 MB as f32) run as f32 everywhere; a larger one (2×256, 2.2 MB)
        // keeps f16 where the 256- and 512-bit kernels decode it.
        ModelFile smallFile = F32(CellKind.Lstm, 8).ConvertTo(TensorDType.F16);
        TextModel small = TextModel.FromFile(smallFile);
        ModelFile largeFile = RandomModels.Create(new ModelArchitecture(CellKind.Lstm, 2, 256, 8, Text.Distinct().Select(c => (int)c).ToArray()), seed: 6, scale: 0.1f).ConvertTo(TensorDType.F16);
        TextModel large = TextModel.FromFile(largeFile);
        TextModel q8 = TextModel.FromFile(F32(CellKind.Lstm, 8).ConvertTo(TensorDType.Q8, Q8Scaling.PerBlock));
        TextModel rowScaled = TextModel.FromFile(F32(CellKind.Lstm, 8).ConvertTo(TensorDType.Q8));
        Assert.That((ModelWeights.FitsWidened(smallFile), ModelWeights.FitsWidened(largeFile)), Is.EqualTo((true, false)));
        Assert.That(small.Weights.HeadWeight.DType, Is.EqualTo(TensorDType.F32));
        Assert.That(large.Weights.HeadWeight.DType, Is.EqualTo(KernelMode.WantsPortableLayout ? TensorDType.F32 : TensorDType.F16));
        Assert.That((q8.Weights.HeadWeight.Q8Layout, q8.Weights.HeadWeight.RowScaledQuants), Is.EqualTo((KernelMode.BestQ8Layout, false)));
        Assert.That(rowScaled.Weights.HeadWeight.RowScaledQuants, Is.True);
    }

    [TestCase(CellKind.Lstm, 0)]
    [TestCase(CellKind.Gru, 32)]
    [TestCase(CellKind.Rnn, 64)]
    public void F16InBlockPairsGivesTheBitsOfFileOrderOnEveryPathAndMode(CellKind cell, int embedding)
    {
        // AVX-512 machines keep f16 rows of whole 32-column pairs as pairs of blocks (one load, no lane-crossing widen):
        // only speed may change, in either mode, on every path that reads them. Hidden 64 makes every matrix pairable.
        ModelFile encoded = RandomModels.Create(new ModelArchitecture(cell, 2, 64, embedding, Text.Distinct().Select(c => (int)c).ToArray()), seed: 6, scale: 0.3f)
            .ConvertTo(TensorDType.F16);
        TextModel paired = TextModel.FromFile(encoded, ModelWeights.DefaultMaxInputTableFloats, portableLayout: false, pairHalves: true);
        TextModel kept = TextModel.FromFile(encoded, ModelWeights.DefaultMaxInputTableFloats, portableLayout: false);
        Assert.That((paired.Weights.HeadWeight.PairedHalves, kept.Weights.HeadWeight.PairedHalves), Is.EqualTo((true, false)));
        AssertSameBitsOnEveryPathAndMode(paired, kept);
    }

    [Test]
    public void OnlyModelsWhoseEveryMatrixIsWholeBlockPairsArePaired()
    {
        // Hidden 64 but an embedding of 40 that layer 0 multiplies each step (no input table): W_ih's rows are no whole
        // pairs, so no matrix is paired, and no product mixes layouts. With an input table W_ih is not multiplied.
        ModelFile encoded = RandomModels.Create(new ModelArchitecture(CellKind.Lstm, 2, 64, 40, Text.Distinct().Select(c => (int)c).ToArray()), seed: 7, scale: 0.3f)
            .ConvertTo(TensorDType.F16);
        TextModel perStep = TextModel.FromFile(encoded, maxInputTableFloats: 0, portableLayout: false, pairHalves: true);
        TextModel tabled = TextModel.FromFile(encoded, ModelWeights.DefaultMaxInputTableFloats, portableLayout: false, pairHalves: true);
        Assert.That((perStep.Weights.HeadWeight.PairedHalves, tabled.Weights.HeadWeight.PairedHalves), Is.EqualTo((false, true)));
    }

    [TestCaseSource(nameof(CellsAndEmbeddings))]
    public void StrictQ8LogitsAreBitIdenticalOnEveryKernelPathInEitherLayout(CellKind cell, int embedding)
    {
        // q8 with block scales sums integer products exactly and combines them in one float order on every path,
        // whichever layout the model was loaded in (machines whose best path is Vector<T> interleave the blocks' lanes
        // at load, AVX-512 ones pairs of blocks).
        ModelFile file = F32(cell, embedding).ConvertTo(TensorDType.Q8, Q8Scaling.PerBlock);
        TextGenerator reference = TextModel.FromFile(file, ModelWeights.DefaultMaxInputTableFloats, portableLayout: false)
            .CreateGenerator(new GeneratorOptions { StrictDeterminism = true, KernelPath = KernelPath.Scalar });
        var others = new List<(string Name, TextGenerator Generator)>();
        foreach (Q8Layout layout in Enum.GetValues<Q8Layout>())
        {
            TextModel model = TextModel.FromFile(file, ModelWeights.DefaultMaxInputTableFloats, q8Layout: layout);
            Assert.That(model.Weights.HeadWeight.Q8Layout, Is.EqualTo(layout));
            foreach (KernelPath path in AllKernelPaths.Paths)
            {
                others.Add(($"{path}, {layout}", model.CreateGenerator(new GeneratorOptions { StrictDeterminism = true, KernelPath = path })));
            }
        }
        foreach (char c in Text)
        {
            reference.Prime(c.ToString());
            foreach (var (name, g) in others)
            {
                g.Prime(c.ToString());
                Assert.That(g.Logits.ToArray(), Is.EqualTo(reference.Logits.ToArray()), $"{name} after '{c}'");
            }
        }
    }

    [TestCase(null, true)]
    [TestCase(ModelArchitecture.EmbeddingName, true)]
    [TestCase(ModelArchitecture.HeadWeightName, false)]
    [TestCase("rnn.weight_hh_l1", false)]
    public void OnlyTheMatricesAStepMultipliesDecideTheRowKernel(string? blockScaled, bool rowKernel)
    {
        // The embedding (40 wide: two blocks) is decoded to f32 at load, so its scales do not matter; any multiplied
        // matrix with two scales in a row keeps the whole model on the block kernel, so every product runs one kernel.
        ModelFile rows = F32(CellKind.Lstm, 40).ConvertTo(TensorDType.Q8), blocks = F32(CellKind.Lstm, 40).ConvertTo(TensorDType.Q8, Q8Scaling.PerBlock);
        var mixed = new ModelFile(rows.Architecture, rows.Tensors.Select(t => t.Name == blockScaled ? blocks.GetTensor(t.Name) : t).ToArray(), rows.Metadata);
        ModelTensor replaced = blocks.GetTensor(blockScaled ?? ModelArchitecture.EmbeddingName);
        Assert.That(TensorEncoding.HasRowScales(replaced.Shape[0], replaced.Shape[1], replaced.Data.Span), Is.False, "two scales in a row");
        TextModel model = TextModel.FromFile(mixed);
        Assert.That(model.Weights.Layers.Select(l => l.HiddenWeights.RowScaledQuants).Append(model.Weights.HeadWeight.RowScaledQuants), Is.All.EqualTo(rowKernel));
    }

    [TestCaseSource(nameof(CellsAndEmbeddings))]
    public void RowScaledQ8LogitsAreBitIdenticalOnEveryKernelPathInEitherMode(CellKind cell, int embedding)
    {
        // Whole rows sum exactly in integers, and every path combines them in one float order: strict mode costs
        // nothing here, and fast mode gives its bits.
        TextModel model = TextModel.FromFile(F32(cell, embedding).ConvertTo(TensorDType.Q8));
        Assert.That(model.Weights.HeadWeight.RowScaledQuants, Is.True);
        TextGenerator reference = model.CreateGenerator(new GeneratorOptions { StrictDeterminism = true, KernelPath = KernelPath.Scalar });
        var others = new List<(string Name, TextGenerator Generator)>();
        foreach (KernelPath path in AllKernelPaths.Paths)
        {
            foreach (bool strict in new[] { true, false }) others.Add(($"{path}, strict {strict}", model.CreateGenerator(new GeneratorOptions { StrictDeterminism = strict, KernelPath = path })));
        }
        foreach (char c in Text)
        {
            reference.Prime(c.ToString());
            foreach (var (name, g) in others)
            {
                g.Prime(c.ToString());
                Assert.That(g.Logits.ToArray(), Is.EqualTo(reference.Logits.ToArray()), $"{name} after '{c}'");
            }
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void LogitsStayCloseToF32(TensorDType dtype, CellKind cell, int embedding)
    {
        // Per weight, f16 is off by at most 2^-11 relative (≤ 1.5e-4 here) and q8 by half its row's scale
        // (max|w| / 254 ≤ 1.2e-3; q8 also rounds each vector element by up to max|v| / 128, which adds about twice
        // that). Over 40 + 40 products of inputs in (−1, 1) a pre-activation is off by at most ~0.012 (f16) and ~0.14
        // (q8), before errors carried in h; random signs make the typical error ~√80 times smaller (observed: ≤ 3e-4
        // and ≤ 0.07, the RNN the largest), so the limits sit between typical and worst case.
        double tolerance = dtype == TensorDType.F16 ? 2e-3 : 0.1;
        ModelFile f32 = F32(cell, embedding);
        TextGenerator encoded = TextModel.FromFile(f32.ConvertTo(dtype)).CreateGenerator();
        TextGenerator reference = TextModel.FromFile(f32).CreateGenerator();
        double largest = 0;
        foreach (char c in Text)
        {
            encoded.Prime(c.ToString());
            reference.Prime(c.ToString());
            for (int i = 0; i < reference.Logits.Length; i++) largest = Math.Max(largest, Math.Abs(encoded.Logits[i] - reference.Logits[i]));
        }
        Assert.That(largest, Is.LessThan(tolerance));
        Assert.That(largest, Is.GreaterThan(0), "the encoded model must not be the f32 one");
    }

    [TestCase(TensorDType.F16, false, Q8Scaling.PerRow)]
    [TestCase(TensorDType.Q8, false, Q8Scaling.PerRow)]
    [TestCase(TensorDType.Q8, false, Q8Scaling.PerBlock)]
    [TestCase(TensorDType.F16, true, Q8Scaling.PerRow)]
    [TestCase(TensorDType.Q8, true, Q8Scaling.PerRow)]
    [TestCase(TensorDType.Q8, true, Q8Scaling.PerBlock)]
    public void GenerationIsDeterministicAndAllocatesNothing(TensorDType dtype, bool portable, Q8Scaling scaling)
    {
        // portable: the layout and Vector<T> kernels of machines without 256-bit ones, forced here. Otherwise f16 as
        // stored and q8 with block scales in this machine's layout, for its best kernels.
        var model = TextModel.FromFile(F32(CellKind.Lstm, 8).ConvertTo(dtype, scaling), ModelWeights.DefaultMaxInputTableFloats, portableLayout: portable, q8Layout: portable ? null : KernelMode.BestQ8Layout);
        if (dtype == TensorDType.Q8) Assert.That(model.Weights.HeadWeight.RowScaledQuants, Is.EqualTo(scaling == Q8Scaling.PerRow));
        KernelPath? path = portable ? KernelPath.Vector : null;
        var options = new GeneratorOptions { Seed = 3, Sampling = new SamplingOptions { Temperature = 0.9 }, KernelPath = path };
        string first = TestModels.Read(model.CreateGenerator(options), 2_000);
        Assert.That(TestModels.Read(model.CreateGenerator(options), 2_000), Is.EqualTo(first));

        TextGenerator generator = model.CreateGenerator(new GeneratorOptions { Seed = 4, KernelPath = path });
        for (int i = 0; i < 1_000; i++) generator.NextChar();
        Assert.That(ThreadAllocations.During(() =>
        {
            for (int i = 0; i < 5_000; i++) generator.NextChar();
        }), Is.Zero);
    }
}
