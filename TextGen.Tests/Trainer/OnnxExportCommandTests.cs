using System.Text.Json;
using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.ML.OnnxRuntime;
using TextGen.Runtime.Format;
using TextGen.Runtime.Model;
using TextGen.Tests.Support;
using TextGen.Trainer.Cli;
using TextGen.Trainer.Data;
using TextGen.Trainer.Export;
using TextGen.Trainer.Training;

namespace TextGen.Tests.Trainer;

/// <summary><c>export DIR --onnx FILE</c> on a tiny trained run: the file ONNX Runtime loads, its interface, its errors.</summary>
public sealed class OnnxExportCommandTests
{
    private TrainingSandbox _sandbox = null!;
    private string _run = null!;

    [OneTimeSetUp]
    public void TrainOnce()
    {
        _sandbox = new TrainingSandbox();
        var config = TrainingSandbox.TinyConfig(_sandbox.WriteCorpus()) with { Steps = 30, EvalEvery = 30 };
        _run = _sandbox.PathOf("run");
        using var run = TrainingRun.Start(config, Corpus.Load(config.Corpus), _run);
        run.Train(new TrainingBudget(30, null), new RecordingReporter(), CancellationToken.None);
    }

    [OneTimeTearDown]
    public void TearDown() => _sandbox.Dispose();

    private static ChildProcess.Result Run(params string[] args) => TrainerCommand.Run(args);

    [Test]
    public void OnnxRuntimeLoadsTheExportWithTheDocumentedInterface()
    {
        string onnx = _sandbox.PathOf("interface.onnx");
        var (code, output, error) = Run("export", _run, "--onnx", onnx);
        Assert.That(code, Is.Zero, error);
        Assert.That(output, Does.Contain($"wrote {onnx}"));

        ModelArchitecture a = ModelFile.ReadFile(WriteWeights("interface.tgm")).Architecture;
        using var session = new InferenceSession(onnx);
        int[] state = [1, 1, a.HiddenSize];
        string[] states = Enumerable.Range(0, a.Layers).SelectMany(l => new[] { $"h{l}", $"c{l}" }).ToArray();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(a.Layers, Is.EqualTo(2), "the interface of a model of more than one layer");
            Assert.That(session.InputMetadata.Keys, Is.EqualTo(new[] { "token", "h0", "c0", "h1", "c1" }));
            Assert.That(session.OutputMetadata.Keys, Is.EqualTo(new[] { "logits", "h0_out", "c0_out", "h1_out", "c1_out" }));
            Assert.That(session.InputMetadata["token"].ElementDataType, Is.EqualTo(TensorElementType.Int64));
            Assert.That(session.InputMetadata["token"].Dimensions, Is.EqualTo(new[] { 1, 1 }));
            Assert.That(session.OutputMetadata["logits"].Dimensions, Is.EqualTo(new[] { 1, a.VocabularySize }));
            foreach (string name in states)
            {
                Assert.That(session.InputMetadata[name].Dimensions, Is.EqualTo(state), name);
                Assert.That(session.OutputMetadata[name + "_out"].Dimensions, Is.EqualTo(state), name + "_out");
            }
            Assert.That(JsonSerializer.Deserialize<int[]>(session.ModelMetadata.CustomMetadataMap["vocabulary"]), Is.EqualTo(a.Vocabulary));
            Assert.That(session.ModelMetadata.CustomMetadataMap["cell"], Is.EqualTo("lstm"));
        }
    }

    [Test]
    public void ThePlainSessionApiGivesTheRuntimeLogits()
    {
        // The way the docs tell a game to call the graph: named inputs, zero state, the state outputs fed back.
        string onnx = _sandbox.PathOf("plain.onnx");
        Assert.That(Run("export", _run, "--onnx", onnx).ExitCode, Is.Zero);
        var model = TextModel.Load(WriteWeights("plain.tgm"));
        var generator = model.CreateGenerator();
        ModelArchitecture a = model.Architecture;
        string[] stateNames = Enumerable.Range(0, a.Layers).SelectMany(l => new[] { $"h{l}", $"c{l}" }).ToArray();
        var states = stateNames.ToDictionary(name => name, _ => new DenseTensor<float>([1, 1, a.HiddenSize]));
        using var session = new InferenceSession(onnx);
        foreach (char character in "the cat sat on a mat.")
        {
            Assert.That(model.TryGetTokenId(character, out int token), Is.True);
            var inputs = new List<NamedOnnxValue> { NamedOnnxValue.CreateFromTensor("token", new DenseTensor<long>(new long[] { token }, [1, 1])) };
            inputs.AddRange(stateNames.Select(name => NamedOnnxValue.CreateFromTensor(name, states[name])));
            using var results = session.Run(inputs);
            float[] logits = results.First(r => r.Name == "logits").AsEnumerable<float>().ToArray();
            foreach (string name in stateNames) states[name] = (DenseTensor<float>)results.First(r => r.Name == name + "_out").AsTensor<float>().Clone();
            generator.FeedToken(token);
            Assert.That(logits, Is.EqualTo(generator.Logits.ToArray()).Within(OnnxParity.Tolerance), $"after '{character}'");
        }
    }

    [Test]
    public void OneCommandWritesBothFilesAndTheCheckpointMatchesTheRuntimeOver500Steps()
    {
        string tgm = _sandbox.PathOf("both.tgm");
        string onnx = _sandbox.PathOf("both.onnx");
        var (code, _, error) = Run("export", _run, "--out", tgm, "--onnx", onnx);
        Assert.That(code, Is.Zero, error);

        ModelFile weights = ModelFile.ReadFile(tgm);
        // The parity run converts the same weights in memory; the file on disk must be exactly that graph.
        Assert.That(File.ReadAllBytes(onnx), Is.EqualTo(OnnxExporter.ToBytes(weights)));
        var differences = OnnxParity.Measure(weights, 500);
        TestContext.Out.WriteLine($"trained lstm checkpoint, 500 steps: {differences}");
        differences.AssertWithinTolerance();
    }

    [Test]
    public void AWeightFileConvertsToTheSameGraphAsItsCheckpoint()
    {
        string tgm = WriteWeights("convert.tgm");
        string fromCheckpoint = _sandbox.PathOf("checkpoint.onnx");
        string fromWeights = _sandbox.PathOf("weights.onnx");
        Assert.That(Run("export", _run, "--onnx", fromCheckpoint).ExitCode, Is.Zero);
        var (code, _, error) = Run("export", tgm, "--onnx", fromWeights);
        Assert.That(code, Is.Zero, error);
        Assert.That(File.ReadAllBytes(fromWeights), Is.EqualTo(File.ReadAllBytes(fromCheckpoint)));
    }

    [Test]
    public void ExportNeedsAnOutput()
    {
        var (code, _, error) = Run("export", _run);
        Assert.That(code, Is.EqualTo(TrainerCommandLine.Usage));
        Assert.That(error, Does.Contain("export needs --out FILE, --onnx FILE or both"));
    }

    [Test]
    public void AnOnnxPathThatIsADirectoryIsAUsageError()
    {
        var (code, _, error) = Run("export", _run, "--onnx", _sandbox.Root);
        Assert.That(code, Is.EqualTo(TrainerCommandLine.Usage));
        Assert.That(error, Does.Contain($"--onnx {_sandbox.Root} is a directory"));
    }

    [Test]
    public void AnUnwritableOnnxPathFailsNamingTheFile()
    {
        string onnx = Path.Combine(_sandbox.PathOf("no-such-directory"), "model.onnx");
        var (code, _, error) = Run("export", _run, "--onnx", onnx);
        Assert.That(code, Is.EqualTo(TrainerCommandLine.Failure));
        Assert.That(error, Does.StartWith($"{onnx}: cannot write: the directory "));
    }

    [Test]
    public void AMissingWeightFileFailsNamingIt()
    {
        string missing = _sandbox.PathOf("missing.tgm");
        var (code, _, error) = Run("export", missing, "--onnx", _sandbox.PathOf("never.onnx"));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(code, Is.EqualTo(TrainerCommandLine.Failure));
            Assert.That(error, Does.Contain($"{missing}: the file does not exist"));
            Assert.That(File.Exists(_sandbox.PathOf("never.onnx")), Is.False);
        }
    }

    [Test]
    public void AFileThatIsNotAWeightFileFailsNamingIt()
    {
        string corpus = _sandbox.WriteCorpus("text.txt");
        var (code, _, error) = Run("export", corpus, "--onnx", _sandbox.PathOf("never.onnx"));
        Assert.That(code, Is.EqualTo(TrainerCommandLine.Failure));
        Assert.That(error, Does.StartWith($"{corpus}: "));
    }

    private string WriteWeights(string name)
    {
        string path = _sandbox.PathOf(name);
        Assert.That(Run("export", _run, "--out", path).ExitCode, Is.Zero);
        return path;
    }
}
