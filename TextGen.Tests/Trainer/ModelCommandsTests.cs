using System.Text;
using System.Text.Json;
using TextGen.Runtime.Evaluation;
using TextGen.Runtime.Format;
using TextGen.Runtime.Model;
using TextGen.Tests.Support;
using TextGen.Trainer.Checkpoints;
using TextGen.Trainer.Cli;
using TextGen.Trainer.Data;
using TextGen.Trainer.Export;
using TextGen.Trainer.Training;
using static TextGen.Tests.Trainer.TrainerCommand;

namespace TextGen.Tests.Trainer;

public sealed class ModelCommandsTests
{
    private TrainingSandbox _sandbox = null!;
    private TrainingConfig _config = null!;
    private string _run = null!;
    private string _model = null!;

    [OneTimeSetUp]
    public void TrainOnce()
    {
        _sandbox = new TrainingSandbox();
        _config = TrainingSandbox.TinyConfig(_sandbox.WriteCorpus()) with { Steps = 60, EvalEvery = 30 };
        _run = _sandbox.PathOf("run");
        using (var run = TrainingRun.Start(_config, Corpus.Load(_config.Corpus), _run))
        {
            run.Train(new TrainingBudget(60, null), new RecordingReporter(), CancellationToken.None);
        }
        _model = _sandbox.PathOf("model.tgm");
        Assert.That(Run("export", _run, "--out", _model).ExitCode, Is.Zero);
    }

    [OneTimeTearDown]
    public void TearDown() => _sandbox.Dispose();

    private static JsonElement LastJsonLine(string output) =>
        JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]).RootElement;

    [Test]
    public void ExportRoundTripsThroughTheRuntimeFormat()
    {
        var expected = ModelExporter.FromCheckpoint(Checkpoint.Open(_run));
        var read = ModelFile.ReadFile(_model);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(read.Tensors.Select(t => (t.Name, t.DType, string.Join(",", t.Shape))), Is.EqualTo(expected.Tensors.Select(t => (t.Name, t.DType, string.Join(",", t.Shape)))));
            Assert.That(read.Tensors.Select(t => t.Data.ToArray()), Is.EqualTo(expected.Tensors.Select(t => t.Data.ToArray())));
            Assert.That(read.Metadata, Is.EquivalentTo(expected.Metadata));
            Assert.That(read.Architecture.Vocabulary, Is.EqualTo(expected.Architecture.Vocabulary));
        }
    }

    [Test]
    public void EvalScoresTheValidationSplitWithTheRuntime()
    {
        var (code, output, error) = Run("eval", "--model", _model, "--corpus", _config.Corpus);
        var json = LastJsonLine(output);

        var corpus = Corpus.Load(_config.Corpus);
        var data = TrainingData.Split(corpus, _config.ValFraction, _config.Batch, _config.SeqLen);
        using var model = new TextGen.Trainer.Model.CharModel(
            new ModelArchitecture(_config.Arch, _config.Layers, _config.Hidden, _config.Embedding, data.Vocabulary.Scalars), dropout: 0);
        Checkpoint.Open(_run).LoadModel(model);
        double torchLoss = Validation.Loss(model, data.Validation, streams: 1, seqLen: 64);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(code, Is.Zero, error);
            Assert.That(json.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "dtype", "loss_nats", "bits_per_char", "chars", "unknown_chars" }));
            Assert.That(json.GetProperty("chars").GetInt64(), Is.EqualTo(data.Validation.Length - 1));
            Assert.That(json.GetProperty("unknown_chars").GetInt64(), Is.Zero);
            Assert.That(json.GetProperty("loss_nats").GetDouble(), Is.EqualTo(torchLoss).Within(1e-5), "the Runtime scores as TorchSharp does");
            Assert.That(json.GetProperty("bits_per_char").GetDouble(), Is.EqualTo(json.GetProperty("loss_nats").GetDouble() / Math.Log(2)).Within(1e-12));
        }
    }

    [TestCase("f16")]
    [TestCase("q8")]
    public void ExportWritesEveryDtypeFromACheckpointOrAWeightFile(string dtype)
    {
        string fromRun = _sandbox.PathOf($"run-{dtype}.tgm"), fromFile = _sandbox.PathOf($"file-{dtype}.tgm");
        var (runCode, runOutput, _) = Run("export", _run, "--out", fromRun, "--dtype", dtype);
        var (fileCode, _, _) = Run("export", _model, "--out", fromFile, "--dtype", dtype);
        var expected = ModelFile.ReadFile(_model).ConvertTo(dtype == "f16" ? TensorDType.F16 : TensorDType.Q8);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(runCode, Is.Zero);
            Assert.That(fileCode, Is.Zero);
            Assert.That(runOutput, Does.Contain($", {dtype}, {new FileInfo(fromRun).Length} bytes)"));
            Assert.That(File.ReadAllBytes(fromRun), Is.EqualTo(expected.ToBytes()));
            Assert.That(File.ReadAllBytes(fromFile), Is.EqualTo(expected.ToBytes()));
        }
    }

    [Test]
    public void EvalScoresEachDtypeInTheOrderGiven()
    {
        var (code, output, _) = Run("eval", "--model", _model, "--corpus", _config.Corpus, "--split", "all", "--dtypes", "q8,f16,f32");
        var lines = output.TrimEnd().Split('\n').Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        var file = ModelFile.ReadFile(_model);
        string text = File.ReadAllText(_config.Corpus);
        double ScoreOf(TensorDType dtype) => TextEvaluator.Evaluate(TextModel.FromFile(file.ConvertTo(dtype)), text).NatsPerCharacter;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(code, Is.Zero);
            Assert.That(lines.Select(l => l.GetProperty("dtype").GetString()), Is.EqualTo(new[] { "q8", "f16", "f32" }));
            Assert.That(LastJsonLine(output).GetProperty("dtype").GetString(), Is.EqualTo("f32"));
            double f32 = lines[2].GetProperty("loss_nats").GetDouble();
            // Each line is the Runtime's score of the model converted to that dtype, and the conversions did change it.
            Assert.That(lines.Select(l => l.GetProperty("loss_nats").GetDouble()), Is.EqualTo(new[] { ScoreOf(TensorDType.Q8), ScoreOf(TensorDType.F16), ScoreOf(TensorDType.F32) }));
            Assert.That(lines[0].GetProperty("loss_nats").GetDouble(), Is.Not.EqualTo(f32));
            Assert.That(lines[1].GetProperty("loss_nats").GetDouble(), Is.Not.EqualTo(f32));
        }
    }

    [TestCase("f8", "--dtypes: unknown dtype \"f8\"; use f32, f16 or q8")]
    [TestCase("f32,,q8", "--dtypes \"f32,,q8\" has an empty entry; give e.g. f32,f16,q8")]
    [TestCase("", "--dtypes \"\" has an empty entry; give e.g. f32,f16,q8")]
    public void EvalRefusesABadDTypeListNamingTheOption(string list, string message)
    {
        var (code, output, error) = Run("eval", "--model", _model, "--corpus", _config.Corpus, "--dtypes", list);
        Assert.That(code, Is.EqualTo(TrainerCommandLine.Usage));
        Assert.That(error.TrimEnd(), Is.EqualTo(message));
        Assert.That(output, Is.Empty);
    }

    [Test]
    public void ExportRefusesOneFileForBothOutputsAndEmptyNames()
    {
        string same = _sandbox.PathOf("same");
        var both = Run("export", _run, "--out", same, "--onnx", Path.Combine(_sandbox.PathOf("."), "same"));
        var emptyOut = Run("export", _run, "--out", "");
        var emptyOnnx = Run("export", _run, "--onnx", "");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(both.ExitCode, Is.EqualTo(TrainerCommandLine.Usage));
            Assert.That(both.Error.TrimEnd(), Is.EqualTo($"--out and --onnx both name {same}; the ONNX file would replace the weight file"));
            Assert.That(File.Exists(same), Is.False, "something was written");
            Assert.That((emptyOut.ExitCode, emptyOut.Error.TrimEnd()), Is.EqualTo((TrainerCommandLine.Usage, "--out must name a file, not an empty string")));
            Assert.That((emptyOnnx.ExitCode, emptyOnnx.Error.TrimEnd()), Is.EqualTo((TrainerCommandLine.Usage, "--onnx must name a file, not an empty string")));
        }
    }

    [Test]
    public void EvalAllScoresTheWholeTextAndCountsUnknownCharacters()
    {
        string other = _sandbox.WriteBytes("other.txt", Encoding.UTF8.GetBytes("the cat sat on the mat. Ünknown ÿ"));
        var (code, output, _) = Run("eval", "--model", _model, "--corpus", other, "--split", "all");
        var json = LastJsonLine(output);
        var expected = TextEvaluator.Evaluate(TextModel.Load(_model), File.ReadAllText(other));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(code, Is.Zero);
            Assert.That(json.GetProperty("unknown_chars").GetInt64(), Is.EqualTo(expected.UnknownCharactersSkipped).And.GreaterThanOrEqualTo(3));
            Assert.That(json.GetProperty("chars").GetInt64(), Is.EqualTo(expected.CharactersScored));
            Assert.That(json.GetProperty("loss_nats").GetDouble(), Is.EqualTo(expected.NatsPerCharacter));
        }
    }

    [Test]
    public void InspectJsonDescribesTheFile()
    {
        var (code, output, _) = Run("inspect", _model, "--json");
        var json = JsonDocument.Parse(output).RootElement;
        var file = ModelFile.ReadFile(_model);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(code, Is.Zero);
            Assert.That(output.TrimEnd().Split('\n'), Has.Length.EqualTo(1), "one JSON object on one line");
            Assert.That(json.GetProperty("tensor_sha256").GetString(), Is.EqualTo(file.TensorSha256));
            Assert.That(json.GetProperty("cell").GetString(), Is.EqualTo("lstm"));
            Assert.That(json.GetProperty("layers").GetInt32(), Is.EqualTo(2));
            Assert.That(json.GetProperty("vocabulary_size").GetInt32(), Is.EqualTo(file.Architecture.VocabularySize));
            Assert.That(json.GetProperty("parameters").GetInt64(), Is.EqualTo(file.Architecture.ParameterCount()));
            Assert.That(json.GetProperty("dtypes").GetProperty("f32").GetInt32(), Is.EqualTo(file.Tensors.Count));
            Assert.That(json.GetProperty("metadata").GetProperty("steps").GetDouble(), Is.EqualTo(60));
            Assert.That(json.GetProperty("metadata").GetProperty("corpus_name").GetString(), Is.EqualTo("corpus.txt"));
        }
    }

    [Test]
    public void InspectTextNamesArchitectureAndMetadata()
    {
        var (code, output, _) = Run("inspect", _model);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(code, Is.Zero);
            Assert.That(output, Does.Contain("lstm, 2 layer(s) x 16 hidden, embedding 8"));
            Assert.That(output, Does.Contain("vocabulary    18 characters: \\n .abcdeghimnorstw"));
            Assert.That(output, Does.Contain("steps = 60"));
        }
    }

    [Test]
    public void SampleIsReproducibleBySeedAndStartsWithThePrime()
    {
        string[] args = ["sample", "--model", _model, "--prime", "the cat", "--length", "120", "--seed", "7"];
        var first = Run(args);
        var again = Run(args);
        var other = Run(["sample", "--model", _model, "--prime", "the cat", "--length", "120", "--seed", "8"]);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(first.ExitCode, Is.Zero);
            Assert.That(first.Output, Does.StartWith("the cat"));
            Assert.That(first.Output.TrimEnd('\n'), Has.Length.EqualTo("the cat".Length + 120));
            Assert.That(again.Output, Is.EqualTo(first.Output));
            Assert.That(other.Output, Is.Not.EqualTo(first.Output));
        }
    }

    [Test]
    public void SampleRejectsAPrimeWithUnknownCharacters()
    {
        var (code, output, error) = Run("sample", "--model", _model, "--prime", "the Ünicorn");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(code, Is.EqualTo(TrainerCommandLine.Usage));
            Assert.That(error, Does.StartWith("--prime: The character 'Ü' (U+00DC) at position 4 is not in the model's vocabulary."));
            Assert.That(output, Is.Empty);
        }
    }

    [TestCase("--temperature", "-1", "--temperature must be a finite number of at least 0 (got -1)")]
    [TestCase("--temperature", "NaN", "--temperature must be a finite number of at least 0 (got NaN)")]
    [TestCase("--length", "-5", "--length must be between 0 and 10000000 (got -5)")]
    [TestCase("--top-k", "-1", "--top-k must be at least 0 (got -1)")]
    [TestCase("--seed", "-1", "--seed")]
    public void SampleRejectsNonsenseOptions(string option, string value, string message)
    {
        var (code, _, error) = Run("sample", "--model", _model, option, value);
        Assert.That(code, Is.EqualTo(TrainerCommandLine.Usage));
        Assert.That(error, Does.Contain(message));
    }

    [Test]
    public void UnusableModelFileFailsNamingIt(
        [Values("eval", "inspect", "sample")] string command,
        [Values("missing", "directory", "unreadable", "empty", "truncated")] string kind)
    {
        string path = kind == "truncated" ? _sandbox.WriteBytes("truncated.tgm", File.ReadAllBytes(_model)[..100]) : UnusableFiles.Create(_sandbox.Root, kind);
        var (code, output, error) = Run(command switch
        {
            "eval" => ["eval", "--model", path, "--corpus", _config.Corpus],
            "inspect" => ["inspect", path],
            _ => ["sample", "--model", path],
        });
        using (Assert.EnterMultipleScope())
        {
            Assert.That(code, Is.EqualTo(TrainerCommandLine.Failure));
            Assert.That(error, Does.StartWith(path + ": " + (kind == "truncated" ? "" : UnusableFiles.ModelFileProblem(kind))));
            Assert.That(error, Does.Not.Contain("   at "));
            Assert.That(output, Is.Empty);
        }
    }

    [Test]
    public void EvalOfAnUnusableCorpusFailsNamingIt([Values("missing", "directory", "unreadable", "empty", "binary", "latin1")] string kind)
    {
        string corpus = _sandbox.WriteBadCorpus(kind);
        var (code, output, error) = Run("eval", "--model", _model, "--corpus", corpus);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(code, Is.EqualTo(TrainerCommandLine.Failure));
            Assert.That(error, Does.StartWith(corpus + ": "));
            Assert.That(output, Is.Empty);
        }
    }

    [Test]
    public void ExportIntoAMissingDirectoryNamesIt()
    {
        string path = _sandbox.PathOf(Path.Combine("nowhere", "model.tgm"));
        var (code, _, error) = Run("export", _run, "--out", path);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(code, Is.EqualTo(TrainerCommandLine.Failure));
            Assert.That(error, Does.StartWith($"{path}: cannot write: the directory {_sandbox.PathOf("nowhere")} does not exist"));
            Assert.That(Directory.Exists(_sandbox.PathOf("nowhere")), Is.False);
        }
    }

    [Test]
    public void ExportOfABrokenCheckpointWritesNoFile()
    {
        string broken = _sandbox.PathOf("broken"), path = _sandbox.PathOf("broken.tgm");
        Directories.CopyFiles(Path.Combine(_run, Checkpoint.LatestName), broken);
        string weights = Path.Combine(broken, "model.bin");
        File.WriteAllBytes(weights, File.ReadAllBytes(weights)[..200]);

        var (code, _, error) = Run("export", broken, "--out", path);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(code, Is.EqualTo(TrainerCommandLine.Failure));
            Assert.That(error, Does.StartWith($"{weights}: cannot be loaded"));
            Assert.That(Directory.GetFiles(_sandbox.Root, "*broken.tgm*"), Is.Empty, "no file and no temporary file");
        }
    }
}
