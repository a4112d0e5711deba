using System.CommandLine;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using TextGen.Benchmarks.Engines;
using TextGen.Benchmarks.Models;
using TextGen.Runtime.Format;
using TextGen.Runtime.Model;
using TextGen.Runtime.Sampling;
using TextGen.Trainer.Export;
using TorchSharp;

namespace TextGen.Benchmarks;

/// <summary>
/// Issue #5 §2: TextGen.Runtime (f32, f16, q8), ONNX Runtime (f32) and TorchSharp (f32) generating from the same
/// model in one process, single-threaded, each engine and dtype in turn within every round so that load from other
/// processes hits all alike. Every engine does the same work per character: feed the previous token, take the
/// logits, pick the next token by argmax (the Runtime's <see cref="Sampler.Argmax"/>, one function for all). Prints one JSON line per
/// engine and dtype, then the roofline line.
/// </summary>
internal static class EngineComparison
{
    /// <summary>The <c>compare</c> command.</summary>
    public static Command Command()
    {
        var model = new Option<string>("--model") { Description = "Weight file (*.tgm)" };
        var hidden = BenchmarkOptions.RandomModelHidden();
        var chars = new Option<int>("--chars") { Description = "Characters per engine per round", DefaultValueFactory = _ => 20_000 };
        var rounds = new Option<int>("--rounds") { Description = "Rounds; each reports its chars/s and the median is printed", DefaultValueFactory = _ => 5 };
        chars.AtLeastOne(BenchmarkOptions.MaxChars);
        rounds.AtLeastOne(BenchmarkOptions.MaxRounds);
        var command = new Command("compare", "Chars/s of TextGen.Runtime, ONNX Runtime and TorchSharp on one model, and the read-bandwidth roofline") { model, hidden, chars, rounds };
        BenchmarkOptions.RequireModelOrHidden(command, model, hidden);
        command.SetAction(parse =>
        {
            TextWriter output = parse.InvocationConfiguration.Output;
            string? path = parse.GetValue(model);
            if (path is not null)
            {
                if (!BenchmarkOptions.TryReadModel(path, parse.InvocationConfiguration.Error, out ModelFile file)) return 1;
                Run(file, path, parse.GetValue(chars), parse.GetValue(rounds), output);
            }
            else
            {
                int units = parse.GetValue(hidden)!.Value;
                Run(RandomModels.ComparisonLstm(units), $"random lstm 2x{units}", parse.GetValue(chars), parse.GetValue(rounds), output);
            }
            return 0;
        });
        return command;
    }

    /// <summary>Measures every engine on <paramref name="file"/> and writes the JSON lines to <paramref name="output"/>.</summary>
    public static void Run(ModelFile file, string modelName, int chars, int rounds, TextWriter output)
    {
        // Process-wide (the other engines are single-threaded by construction); restored for callers in a test process.
        int threads = torch.get_num_threads();
        torch.set_num_threads(1);
        try
        {
            Measure(file, modelName, chars, rounds, output);
        }
        finally
        {
            torch.set_num_threads(threads);
        }
    }

    private static void Measure(ModelFile file, string modelName, int chars, int rounds, TextWriter output)
    {
        ModelFile f32 = file.ConvertTo(TensorDType.F32);
        var engines = StepEngines.For(f32, modelName).Select(e => new Contender(e.Name, e.DType, e.Create)).ToList();

        int start = Math.Max(0, f32.Architecture.Vocabulary.ToList().IndexOf(' ')); // a space if the vocabulary has one, as generation-speed primes
        foreach (var engine in engines) engine.Load(start);
        foreach (var engine in engines) engine.Generate(start, Math.Min(chars, 2_000), measured: false, record: false); // JIT and caches

        long weightBytes = WeightTraffic.WeightBytesPerChar(f32.Architecture, TensorDType.F32);
        var bandwidth = new ReadBandwidth(weightBytes);
        var best = new ReadRates(0, 0);
        var roundBounds = new List<double>(); // chars/s each round's faster read loop allows
        for (int round = 0; round < rounds; round++)
        {
            foreach (var engine in engines) engine.Generate(start, chars, measured: true, record: round == 0);
            ReadRates read = bandwidth.MeasureEach(0.1);
            best = best.Max(read);
            roundBounds.Add(read.Best / weightBytes);
        }
        double bestBytesPerSecond = best.Best;

        IReadOnlyList<int> vocabulary = f32.Architecture.Vocabulary;
        Contender onnxRuntime = engines.Single(e => e.Name == "onnxruntime");
        foreach (var engine in engines)
        {
            string text = string.Concat(engine.Tokens.Select(t => char.ConvertFromUtf32(vocabulary[t])));
            output.WriteLine(new JsonObject
            {
                ["engine"] = engine.Name,
                ["dtype"] = ModelFileSchema.DTypeName(engine.DType),
                ["chars_per_sec"] = Math.Round(engine.MedianCharsPerSecond),
                ["onnxruntime_ratio"] = Math.Round(engine.MedianRatioTo(onnxRuntime), 3),
                ["alloc_bytes_per_char"] = Math.Round(engine.AllocatedBytesPerChar, 3),
                ["alloc_counts"] = engine.Name == "runtime" ? "managed, all of it" : "managed only; native allocations not counted",
                ["load_ms"] = Math.Round(engine.LoadMilliseconds, 3),
                ["warm_load_ms"] = Math.Round(engine.WarmLoadMilliseconds, 3),
                ["first_char_ms"] = Math.Round(engine.FirstCharMilliseconds, 3),
                ["text_sha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text))),
                ["text_start"] = text[..Math.Min(text.Length, 60)],
            }.ToJsonString());
            engine.Dispose();
        }

        double bound = bestBytesPerSecond / weightBytes;
        Contender runtimeF32 = engines.Single(e => e.Name == "runtime" && e.DType == TensorDType.F32);
        output.WriteLine(new JsonObject
        {
            ["roofline"] = new JsonObject
            {
                ["model"] = modelName,
                ["architecture"] = $"{f32.Architecture.Cell} {f32.Architecture.Layers}x{f32.Architecture.HiddenSize}, embedding {f32.Architecture.EmbeddingSize}, vocabulary {f32.Architecture.VocabularySize}".ToLowerInvariant(),
                ["chars_per_round"] = chars,
                ["rounds"] = rounds,
                ["weight_bytes_per_char"] = weightBytes,
                ["read_bandwidth_gb_per_s"] = Math.Round(bestBytesPerSecond / 1e9, 2),
                ["sequential_read_gb_per_s"] = Math.Round(best.Sequential / 1e9, 2),
                ["four_stream_read_gb_per_s"] = Math.Round(best.Quarters / 1e9, 2),
                ["bound_chars_per_sec"] = Math.Round(bound),
                ["runtime_f32_fraction_of_bound"] = Math.Round(runtimeF32.MedianCharsPerSecond / bound, 3),
                ["onnxruntime_f32_fraction_of_bound"] = Math.Round(onnxRuntime.MedianCharsPerSecond / bound, 3),
                // The same fractions like for like: each round's chars/s over the bound that round's own read allows,
                // then the median (the figures above set a median speed against the best read of all rounds).
                ["runtime_f32_median_round_fraction_of_bound"] = Math.Round(runtimeF32.MedianRatioTo(roundBounds), 3),
                ["onnxruntime_f32_median_round_fraction_of_bound"] = Math.Round(onnxRuntime.MedianRatioTo(roundBounds), 3),
            },
        }.ToJsonString());
    }

    // One engine at one dtype: how to load it, and what every round measured.
    private sealed class Contender(string name, TensorDType dtype, Func<IStepEngine> load) : IDisposable
    {
        private readonly List<double> _charsPerSecond = [];
        private long _allocatedBytes, _measuredChars;
        private IStepEngine? _engine;

        public string Name => name;

        public TensorDType DType => dtype;

        public double LoadMilliseconds { get; private set; }

        public double WarmLoadMilliseconds { get; private set; }

        public double FirstCharMilliseconds { get; private set; }

        public double MedianCharsPerSecond => Statistic.Median(_charsPerSecond);

        // Round by round, this engine's chars/s over `other`'s, then the median: both ran within the same round, seconds
        // apart, so a machine that drifts between rounds moves both. Steadier than the ratio of the two medians.
        public double MedianRatioTo(Contender other) => MedianRatioTo(other._charsPerSecond);

        // Round by round, this engine's chars/s over the given figure of the same round, then the median.
        public double MedianRatioTo(IReadOnlyList<double> perRound) => Statistic.Median(_charsPerSecond.Zip(perRound, (mine, theirs) => mine / theirs));

        public double AllocatedBytesPerChar => (double)_allocatedBytes / _measuredChars;

        // The token ids the first measured round generated.
        public int[] Tokens { get; private set; } = [];

        // Loads twice: the first load pays JIT and native-library start-up (what a game's first model costs), the
        // second is the load of a further model. The first character after the first load is the cold latency.
        public void Load(int start)
        {
            long begin = Stopwatch.GetTimestamp();
            IStepEngine first = load();
            LoadMilliseconds = Stopwatch.GetElapsedTime(begin).TotalMilliseconds;
            begin = Stopwatch.GetTimestamp();
            Sampler.Argmax(first.Step(start));
            FirstCharMilliseconds = Stopwatch.GetElapsedTime(begin).TotalMilliseconds;
            first.Dispose();
            begin = Stopwatch.GetTimestamp();
            _engine = load();
            WarmLoadMilliseconds = Stopwatch.GetElapsedTime(begin).TotalMilliseconds;
        }

        // Generates `chars` tokens from the zero state after `start`. A measured run adds its speed and allocation to
        // the figures; `record` keeps the tokens, in an array made before the timed span.
        public void Generate(int start, int chars, bool measured, bool record)
        {
            IStepEngine engine = _engine ?? throw new InvalidOperationException("not loaded");
            if (record) Tokens = new int[chars];
            engine.Reset();
            int token = start;
            long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            long begin = Stopwatch.GetTimestamp();
            for (int i = 0; i < chars; i++)
            {
                token = Sampler.Argmax(engine.Step(token));
                if (record) Tokens[i] = token;
            }
            double seconds = Stopwatch.GetElapsedTime(begin).TotalSeconds;
            long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            if (!measured) return;
            _charsPerSecond.Add(chars / seconds);
            _allocatedBytes += allocated;
            _measuredChars += chars;
        }

        public void Dispose() => _engine?.Dispose();
    }
}
