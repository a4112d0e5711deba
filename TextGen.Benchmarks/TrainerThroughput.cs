using System.CommandLine;
using System.Diagnostics;
using System.Text;
using TextGen.Runtime.Format;
using TextGen.Trainer.Data;
using TextGen.Trainer.Model;
using TextGen.Trainer.Native;
using TextGen.Trainer.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace TextGen.Benchmarks;

/// <summary>
/// Training speed of the trainer against a bare TorchSharp loop of the same model in the same process:
/// batch 32, seq 128, embedding 64, 2-layer LSTM, hidden 256 (or --hidden). Rounds alternate between the two so
/// that load from other processes hits both alike; the target is a ratio of at least 0.9.
/// </summary>
internal static class TrainerThroughput
{
    private const int Batch = 32, SeqLen = 128, Embedding = 64, Layers = 2;

    /// <summary>The <c>trainer-throughput</c> command.</summary>
    public static Command Command()
    {
        var corpusOption = new Option<string?>("--corpus") { Description = "Text to train on (default: generated)" };
        var hiddenOption = new Option<int>("--hidden") { DefaultValueFactory = _ => 256 };
        var stepsOption = new Option<int>("--steps") { Description = "Timed steps per round", DefaultValueFactory = _ => 40 };
        var roundsOption = new Option<int>("--rounds") { DefaultValueFactory = _ => 3 };
        var threadsOption = new Option<int>("--threads") { Description = "libtorch threads; 0 keeps its default", DefaultValueFactory = _ => 0 };
        hiddenOption.AtLeastOne(ModelArchitecture.MaxHiddenSize);
        stepsOption.AtLeastOne(100_000);
        roundsOption.AtLeastOne(BenchmarkOptions.MaxRounds);
        threadsOption.Validators.Add(result =>
        {
            if (result.TryGetValue(out int value) && (value < 0 || value > BenchmarkOptions.MaxThreads)) result.AddError($"--threads must be 0 to {BenchmarkOptions.MaxThreads} (got {value})");
        });
        var command = new Command("trainer-throughput", "Trainer chars/s against a bare TorchSharp loop") { corpusOption, hiddenOption, stepsOption, roundsOption, threadsOption };
        command.SetAction(parse => Measure(
            parse.GetValue(corpusOption), parse.GetValue(hiddenOption), parse.GetValue(stepsOption), parse.GetValue(roundsOption), parse.GetValue(threadsOption)));
        return command;
    }

    private static int Measure(string? corpusPath, int hidden, int steps, int rounds, int threads)
    {
        LibTorchEnvironment.Configure(); // as the trainer's Program does, for both loops alike
        if (threads > 0) torch.set_num_threads(threads);

        string work = Path.Combine(Path.GetTempPath(), "textgen-throughput-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(work);
        try
        {
            corpusPath ??= WriteCorpus(work);
            var corpus = Corpus.Load(corpusPath);
            Console.WriteLine($"corpus {corpus.Name}: {corpus.Scalars.Length} characters; batch {Batch}, seq {SeqLen}, emb {Embedding}, {Layers}-layer LSTM hidden {hidden}; {steps} timed steps per round, threads {torch.get_num_threads()}");
            var bare = new List<double>();
            var trainer = new List<double>();
            for (int round = 0; round < rounds; round++)
            {
                bare.Add(BareLoop(corpus, hidden, steps));
                trainer.Add(TrainerLoop(corpus, hidden, steps, Path.Combine(work, $"run{round}")));
                Console.WriteLine($"round {round + 1}: bare {bare[^1]:F0} chars/s, trainer {trainer[^1]:F0} chars/s");
            }
            double bareMedian = Statistic.Median(bare), trainerMedian = Statistic.Median(trainer);
            Console.WriteLine($"median: bare {bareMedian:F0} chars/s, trainer {trainerMedian:F0} chars/s, ratio {trainerMedian / bareMedian:F3}");
            return 0;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    // The least a training loop can do: fixed batches prepared in advance, forward, loss, backward, Adam, detach.
    private static double BareLoop(Corpus corpus, int hidden, int steps)
    {
        torch.manual_seed(1);
        var data = TrainingData.Split(corpus, 0.1, Batch, SeqLen);
        int vocabulary = data.Vocabulary.Count;
        using var embedding = nn.Embedding(vocabulary, Embedding);
        using var lstm = nn.LSTM(Embedding, hidden, Layers);
        using var head = nn.Linear(hidden, vocabulary);
        var parameters = embedding.parameters().Concat(lstm.parameters()).Concat(head.parameters()).ToArray();
        using var adam = torch.optim.Adam(parameters, lr: 2e-3);
        var batches = new TruncatedBpttBatches(data.Training, Batch, SeqLen, TruncatedBpttBatches.Start(1));
        var prepared = Enumerable.Range(0, 8).Select(_ => batches.Next()).ToArray();

        Tensor h = zeros(Layers, Batch, hidden), c = zeros(Layers, Batch, hidden);
        long start = 0;
        for (int step = -3; step < steps; step++) // three untimed warm-up steps
        {
            if (step == 0) start = Stopwatch.GetTimestamp();
            using var scope = torch.NewDisposeScope();
            var batch = prepared[(step + 3) % prepared.Length];
            var (output, hn, cn) = lstm.forward(embedding.forward(batch.Inputs), (h, c));
            var loss = nn.functional.cross_entropy(head.forward(output).reshape(-1, vocabulary), batch.Targets.reshape(-1));
            adam.zero_grad();
            loss.backward();
            adam.step();
            h.Dispose();
            c.Dispose();
            h = hn.detach().MoveToOuterDisposeScope();
            c = cn.detach().MoveToOuterDisposeScope();
        }
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        h.Dispose();
        c.Dispose();
        return (double)steps * Batch * SeqLen / seconds;
    }

    // The real trainer, timed from step 3 to the last step by its own step reports (validation and checkpoints
    // are pushed beyond the run, so this is the loop's own cost: batching, clipping, schedule, guard, logging).
    private static double TrainerLoop(Corpus corpus, int hidden, int steps, string directory)
    {
        var config = new TrainingConfig
        {
            Corpus = corpus.Path,
            Arch = CellKind.Lstm,
            Layers = Layers,
            Hidden = hidden,
            Embedding = Embedding,
            SeqLen = SeqLen,
            Batch = Batch,
            Schedule = ScheduleKind.Constant,
            Dropout = 0,
            Steps = steps + 3,
            EvalEvery = int.MaxValue,
            CheckpointEvery = int.MaxValue,
            Threads = torch.get_num_threads(),
        };
        using var run = TrainingRun.Start(config, corpus, directory);
        var clock = new StepClock(firstTimedStep: 3);
        run.Train(new TrainingBudget(steps + 3, null), clock, CancellationToken.None);
        return (double)steps * Batch * SeqLen / clock.Seconds;
    }

    private sealed class StepClock(long firstTimedStep) : ITrainingReporter
    {
        private long _start;

        public double Seconds { get; private set; }

        public void Stepped(StepReport report)
        {
            if (report.Step == firstTimedStep) _start = Stopwatch.GetTimestamp();
            else if (report.Step > firstTimedStep) Seconds = Stopwatch.GetElapsedTime(_start).TotalSeconds;
        }

        public void Evaluated(EvaluationRecord record)
        {
        }

        public void Note(string message)
        {
        }
    }

    private static string WriteCorpus(string directory)
    {
        var random = new Random(1);
        var text = new StringBuilder();
        while (text.Length < 400_000) text.Append((char)('a' + random.Next(26))).Append(random.Next(6) == 0 ? " " : "");
        string path = Path.Combine(directory, "corpus.txt");
        File.WriteAllText(path, text.ToString());
        return path;
    }

}
