using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using TextGen.Runtime.Format;
using TextGen.Tests.Support;
using TextGen.Trainer.Model;
using TextGen.Trainer.Training;

namespace TextGen.Tests.Trainer;

/// <summary>
/// A temporary directory with small generated corpora and tiny training configs, so trainer tests run in
/// seconds on two cores and never depend on files outside the test.
/// </summary>
internal sealed class TrainingSandbox : IDisposable
{
    private static readonly string[] Words = ["the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "to", "it", "was", "red", "big"];

    public TrainingSandbox()
    {
        Root = Path.Combine(Path.GetTempPath(), "textgen-trainer-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
    }

    /// <summary>The sandbox directory, deleted on dispose.</summary>
    public string Root { get; }

    /// <summary>A path inside the sandbox.</summary>
    public string PathOf(string name) => Path.Combine(Root, name);

    /// <summary>Writes seeded word soup of about <paramref name="length"/> characters, one sentence per line.</summary>
    public string WriteCorpus(string name = "corpus.txt", int length = 1600, int seed = 7)
    {
        var random = new Random(seed);
        var text = new StringBuilder();
        while (text.Length < length)
        {
            text.Append(Words[random.Next(Words.Length)]);
            text.Append(random.Next(8) == 0 ? ".\n" : " ");
        }
        return WriteBytes(name, Encoding.UTF8.GetBytes(text.ToString()));
    }

    /// <summary>Writes raw bytes.</summary>
    public string WriteBytes(string name, byte[] bytes)
    {
        string path = PathOf(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>
    /// A corpus with the problem <paramref name="kind"/>: one of <see cref="UnusableFiles"/>' kinds, or binary
    /// (a NUL byte), latin1 (not UTF-8), or short (less than one batch).
    /// </summary>
    public string WriteBadCorpus(string kind) => kind switch
    {
        "binary" => WriteBytes("binary.bin", [1, 2, 0, 3]),
        "latin1" => WriteBytes("latin1.txt", [(byte)'c', (byte)'a', (byte)'f', 0xE9]),
        "short" => WriteBytes("short.txt", "too short"u8.ToArray()),
        _ => UnusableFiles.Create(Root, kind),
    };

    /// <summary>
    /// A tiny 2-layer LSTM with dropout (so torch's generator matters) and a step schedule (so the schedule position
    /// matters); 64 characters per step, and on the default corpus an epoch is 22 steps, so 40 steps cross one.
    /// </summary>
    public static TrainingConfig TinyConfig(string corpus) => new()
    {
        Corpus = corpus,
        Arch = CellKind.Lstm,
        Layers = 2,
        Hidden = 16,
        Embedding = 8,
        SeqLen = 16,
        Batch = 4,
        Lr = 0.01,
        Schedule = ScheduleKind.Step,
        DecayEvery = 15,
        DecayFactor = 0.7,
        Dropout = 0.2,
        Clip = 1.0,
        Steps = 40,
        EvalEvery = 10,
        CheckpointEvery = 10,
        Seed = 3,
        Threads = 1,
        ValFraction = 0.1,
    };

    /// <summary>Trains <paramref name="run"/> up to step <paramref name="step"/> (a recording reporter unless one is given).</summary>
    public static TrainingOutcome TrainUntil(TrainingRun run, long step, ITrainingReporter? reporter = null, CancellationToken cancel = default) =>
        run.Train(new TrainingBudget(step, null), reporter ?? new RecordingReporter(), cancel);

    /// <summary>SHA-256 over every weight's bytes in state_dict order: equal only when all weights are bit-identical.</summary>
    public static string Checksum(CharModel model)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (name, tensor) in model.state_dict())
        {
            sha.AppendData(Encoding.UTF8.GetBytes(name));
            sha.AppendData(MemoryMarshal.AsBytes(tensor.detach().contiguous().data<float>().ToArray().AsSpan()));
        }
        return Convert.ToHexString(sha.GetHashAndReset());
    }

    public void Dispose()
    {
        if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true);
    }
}

/// <summary>Keeps everything a run reports, for assertions.</summary>
internal sealed class RecordingReporter(Action<StepReport>? onStep = null) : ITrainingReporter
{
    public List<StepReport> Steps { get; } = [];

    public List<EvaluationRecord> Evaluations { get; } = [];

    public List<string> Notes { get; } = [];

    public void Stepped(StepReport report)
    {
        Steps.Add(report);
        onStep?.Invoke(report);
    }

    public void Evaluated(EvaluationRecord record) => Evaluations.Add(record);

    public void Note(string message) => Notes.Add(message);
}
