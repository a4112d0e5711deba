using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using TextGen.Runtime.Evaluation;
using TextGen.Runtime.Format;
using TextGen.Runtime.Generation;
using TextGen.Runtime.Model;
using TextGen.Runtime.Sampling;
using TextGen.Trainer.Checkpoints;
using TextGen.Trainer.Data;
using TextGen.Trainer.Export;
using TextGen.Trainer.Training;
using static TextGen.Trainer.Cli.TrainerCommandLine;

namespace TextGen.Trainer.Cli;

/// <summary>
/// The commands about exported models: <c>export</c> writes one; <c>eval</c>, <c>inspect</c> and <c>sample</c> read
/// one with TextGen.Runtime, exactly as a game would, with no TorchSharp involved.
/// </summary>
internal static class ModelCommands
{
    /// <summary><c>export DIR|FILE.tgm [--out FILE] [--onnx FILE] [--dtype f32|f16|q8]</c>: at least one of the two outputs.</summary>
    public static Command Export(TextWriter output)
    {
        var source = new Argument<string>("DIR") { Description = "Run directory (its latest checkpoint), a checkpoint directory such as DIR/best, or a weight file (*.tgm) to convert" };
        var file = new Option<string>("--out") { Description = "Weight file to write (*.tgm)", HelpName = "FILE" };
        var onnx = new Option<string>("--onnx") { Description = "ONNX file to write: one generation step (token and state in, logits and new state out)", HelpName = "FILE" };
        var dtype = Choice("--dtype", "Matrix encoding of the weight file (biases stay f32): f32; f16 (half the bytes); q8 (int8 with a scale per row, about 28% of f32)", "f32", "f32", "f16", "q8");
        var command = new Command("export", "Write a checkpoint as a TextGen.Runtime weight file (*.tgm) and/or an ONNX graph.") { source, file, onnx, dtype };
        command.SetAction(parse =>
        {
            string? tgmPath = parse.GetValue(file);
            string? onnxPath = parse.GetValue(onnx);
            if (tgmPath is null && onnxPath is null) throw new UsageException("export needs --out FILE, --onnx FILE or both");
            if (tgmPath is "" || onnxPath is "") throw new UsageException($"{(tgmPath is "" ? "--out" : "--onnx")} must name a file, not an empty string");
            if (tgmPath is not null && onnxPath is not null && Path.GetFullPath(tgmPath) == Path.GetFullPath(onnxPath))
            {
                throw new UsageException($"--out and --onnx both name {tgmPath}; the ONNX file would replace the weight file");
            }
            if (tgmPath is not null && Directory.Exists(tgmPath)) throw new UsageException($"--out {tgmPath} is a directory; give a file name such as model.tgm");
            if (onnxPath is not null && Directory.Exists(onnxPath)) throw new UsageException($"--onnx {onnxPath} is a directory; give a file name such as model.onnx");

            string from = parse.GetRequiredValue(source);
            // An existing file or a *.tgm name is a weight file (ModelFile names its problem); anything else a run or checkpoint.
            var model = File.Exists(from) || from.EndsWith(".tgm", StringComparison.OrdinalIgnoreCase)
                ? ModelFile.ReadFile(from)
                : ModelExporter.FromCheckpoint(Checkpoint.Open(from));
            string steps = model.Metadata.TryGetValue("steps", out var step) ? $", step {step}" : "";
            if (tgmPath is not null)
            {
                string encoding = parse.GetRequiredValue(dtype);
                var encoded = model.ConvertTo(ParseDType(encoding, "--dtype"));
                TrainerCommandLine.WriteOutput(tgmPath, encoded.WriteFile);
                output.WriteLine($"wrote {tgmPath} ({model.Architecture.ParameterCount()} parameters{steps}, {encoding}, {new FileInfo(tgmPath).Length} bytes)");
            }
            if (onnxPath is not null)
            {
                TrainerCommandLine.WriteOutput(onnxPath, path => OnnxExporter.WriteFile(model, path));
                output.WriteLine($"wrote {onnxPath} (ONNX opset {OnnxProto.OpsetVersion}, {model.Architecture.ParameterCount()} parameters{steps})");
            }
            return Ok;
        });
        return command;
    }

    /// <summary>
    /// <c>eval --model FILE --corpus PATH [--split val|all] [--dtypes f32,f16,q8]</c>: one JSON line per dtype, in the
    /// order given (the model converted in memory); without <c>--dtypes</c> one line for the file's own dtype, so the
    /// last stdout line is always JSON.
    /// </summary>
    public static Command Evaluate(TextWriter output)
    {
        var modelPath = new Option<string>("--model") { Description = "Weight file (*.tgm)", Required = true, HelpName = "FILE" };
        var corpusPath = new Option<string>("--corpus") { Description = "UTF-8 text to score", Required = true, HelpName = "PATH" };
        var split = Choice("--split", "val: the last part of the corpus, split as the model's training run split it; all: the whole text", "val", "val", "all");
        var dtypes = new Option<string>("--dtypes") { Description = "Comma-separated dtypes to score the model in, converted in memory (e.g. f32,f16,q8); default: the file's own", HelpName = "LIST" };
        var command = new Command("eval", "Score a text with TextGen.Runtime: loss in nats and bits per character.") { modelPath, corpusPath, split, dtypes };
        command.SetAction(parse =>
        {
            var file = ModelFile.ReadFile(parse.GetRequiredValue(modelPath));
            string? list = parse.GetValue(dtypes);
            var encodings = list is null
                ? new[] { file.MatrixDType }
                : ParseDTypes(list);
            var corpus = Corpus.Load(parse.GetRequiredValue(corpusPath));
            bool all = parse.GetRequiredValue(split) == "all";
            double fraction = TrainingConfigOf(file.Metadata)?.ValFraction ?? TrainingConfig.Defaults.ValFraction;
            int start = all ? 0 : Corpus.TrainingLength(corpus.Scalars.Length, fraction);

            var text = new StringBuilder(corpus.Scalars.Length - start);
            foreach (int scalar in corpus.Scalars.AsSpan(start)) text.Append(char.ConvertFromUtf32(scalar));
            foreach (TensorDType encoding in encodings)
            {
                var result = TextEvaluator.Evaluate(TextModel.FromFile(file.ConvertTo(encoding)), text.ToString());
                if (result.CharactersScored == 0)
                {
                    throw new CorpusException(corpus.Path, $"its {(all ? "text" : "validation part")} holds fewer than two characters the model knows; nothing to score");
                }

                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{(all ? "all" : $"validation split (last {fraction:0.###})")} of {corpus.Name} as {ModelFileSchema.DTypeName(encoding)}: {result.CharactersScored} characters scored, {result.UnknownCharactersSkipped} unknown skipped"));
                output.WriteLine(Json(json =>
                {
                    json.WriteString("dtype", ModelFileSchema.DTypeName(encoding));
                    json.WriteNumber("loss_nats", result.NatsPerCharacter);
                    json.WriteNumber("bits_per_char", result.BitsPerCharacter);
                    json.WriteNumber("chars", result.CharactersScored);
                    json.WriteNumber("unknown_chars", result.UnknownCharactersSkipped);
                }));
            }
            return Ok;
        });
        return command;
    }

    /// <summary><c>inspect FILE [--json]</c>.</summary>
    public static Command Inspect(TextWriter output)
    {
        var path = new Argument<string>("FILE") { Description = "Weight file (*.tgm)" };
        var asJson = new Option<bool>("--json") { Description = "Print one JSON object (with tensor_sha256, the hash over all tensor data)" };
        var command = new Command("inspect", "Show a weight file's architecture, vocabulary, parameter count, dtypes and metadata.") { path, asJson };
        command.SetAction(parse =>
        {
            string file = parse.GetRequiredValue(path);
            var model = ModelFile.ReadFile(file);
            var a = model.Architecture;
            string vocabulary = string.Concat(a.Vocabulary.Select(char.ConvertFromUtf32));
            var dtypes = model.Tensors.GroupBy(t => ModelFileSchema.DTypeName(t.DType)).OrderBy(g => g.Key).ToList();
            if (parse.GetValue(asJson))
            {
                output.WriteLine(Json(json =>
                {
                    json.WriteString("file", file);
                    json.WriteString("format_version", model.FormatVersion.ToString());
                    json.WriteString("cell", ModelFileSchema.CellName(a.Cell));
                    json.WriteNumber("layers", a.Layers);
                    json.WriteNumber("hidden", a.HiddenSize);
                    json.WriteNumber("embedding", a.EmbeddingSize);
                    json.WriteNumber("vocabulary_size", a.VocabularySize);
                    json.WriteString("vocabulary", vocabulary);
                    json.WriteNumber("parameters", a.ParameterCount());
                    json.WriteStartObject("dtypes");
                    foreach (var group in dtypes) json.WriteNumber(group.Key, group.Count());
                    json.WriteEndObject();
                    json.WriteStartArray("tensors");
                    foreach (var tensor in model.Tensors)
                    {
                        json.WriteStartObject();
                        json.WriteString("name", tensor.Name);
                        json.WriteString("dtype", ModelFileSchema.DTypeName(tensor.DType));
                        json.WriteStartArray("shape");
                        foreach (int d in tensor.Shape) json.WriteNumberValue(d);
                        json.WriteEndArray();
                        json.WriteEndObject();
                    }
                    json.WriteEndArray();
                    json.WriteStartObject("metadata");
                    foreach (var (key, value) in model.Metadata.OrderBy(m => m.Key, StringComparer.Ordinal))
                    {
                        if (value.IsString) json.WriteString(key, value.String);
                        else json.WriteNumber(key, value.Number);
                    }
                    json.WriteEndObject();
                    json.WriteString("tensor_sha256", model.TensorSha256);
                }));
                return Ok;
            }

            output.WriteLine(file);
            output.WriteLine($"  format        {model.FormatVersion}");
            output.WriteLine($"  model         {ModelFileSchema.CellName(a.Cell)}, {a.Layers} layer(s) x {a.HiddenSize} hidden, {(a.IsOneHot ? "one-hot input" : $"embedding {a.EmbeddingSize}")}");
            output.WriteLine($"  vocabulary    {a.VocabularySize} characters: {Printable(vocabulary)}");
            output.WriteLine($"  parameters    {a.ParameterCount().ToString("N0", CultureInfo.InvariantCulture)} in {model.Tensors.Count} tensors ({string.Join(", ", dtypes.Select(g => $"{g.Count()} {g.Key}"))})");
            output.WriteLine($"  tensor_sha256 {model.TensorSha256}");
            output.WriteLine("  metadata");
            foreach (var (key, value) in model.Metadata.OrderBy(m => m.Key, StringComparer.Ordinal)) output.WriteLine($"    {key} = {value}");
            return Ok;
        });
        return command;
    }

    /// <summary><c>sample --model FILE [--prime TEXT] [--length N] [--temperature T] [--top-k K] [--seed S]</c>.</summary>
    public static Command Sample(TextWriter output)
    {
        var modelPath = new Option<string>("--model") { Description = "Weight file (*.tgm)", Required = true, HelpName = "FILE" };
        var prime = new Option<string>("--prime") { Description = "Text to start from (printed before the sample)", DefaultValueFactory = _ => "", HelpName = "TEXT" };
        var length = Number("--length", "Characters to generate", 500);
        var temperature = Number("--temperature", "Below 1 is more predictable, above 1 more surprising, 0 always takes the most likely character", 0.8);
        var topK = Number("--top-k", "Draw only from the K most likely characters; 0 = all", 0);
        var seed = Number("--seed", "Seed of the Runtime's random generator: the same seed gives the same text", 0UL);
        var command = new Command("sample", "Generate text with TextGen.Runtime.") { modelPath, prime, length, temperature, topK, seed };
        command.SetAction(parse =>
        {
            int count = parse.GetValue(length);
            double t = parse.GetValue(temperature);
            int k = parse.GetValue(topK);
            if (count < 0 || count > 10_000_000) throw new UsageException($"--length must be between 0 and 10000000 (got {count})");
            if (!double.IsFinite(t) || t < 0) throw new UsageException($"--temperature must be a finite number of at least 0 (got {t})");
            if (k < 0) throw new UsageException($"--top-k must be at least 0 (got {k})");

            var model = TextModel.Load(parse.GetRequiredValue(modelPath));
            var generator = model.CreateGenerator(new GeneratorOptions
            {
                Seed = parse.GetValue(seed),
                MaxLength = count,
                Sampling = new SamplingOptions { Temperature = t, TopK = k },
            });
            string start = parse.GetValue(prime) ?? "";
            try
            {
                generator.Prime(start);
            }
            catch (UnknownCharacterException e)
            {
                throw new UsageException($"--prime: {e.Message}");
            }
            output.Write(start);
            var buffer = new char[4096];
            for (int n; (n = generator.Generate(buffer)) > 0;) output.Write(buffer, 0, n);
            output.WriteLine();
            return Ok;
        });
        return command;
    }

    /// <summary>f32, f16 or q8 as the CLI spells them (the enum names, lower case); <paramref name="option"/> names the option in an error.</summary>
    private static TensorDType ParseDType(string name, string option) => name.ToLowerInvariant() switch
    {
        "f32" => TensorDType.F32,
        "f16" => TensorDType.F16,
        "q8" => TensorDType.Q8,
        _ => throw new UsageException($"{option}: unknown dtype \"{name}\"; use f32, f16 or q8"),
    };

    /// <summary><c>--dtypes</c>' comma-separated list, in its order.</summary>
    private static TensorDType[] ParseDTypes(string list)
    {
        string[] names = list.Split(',', StringSplitOptions.TrimEntries);
        if (names.Any(name => name.Length == 0)) throw new UsageException($"--dtypes \"{list}\" has an empty entry; give e.g. f32,f16,q8");
        return names.Select(name => ParseDType(name, "--dtypes")).ToArray();
    }

    // The run's config as the exporter stored it; null for files from elsewhere or with an unreadable config.
    private static TrainingConfig? TrainingConfigOf(IReadOnlyDictionary<string, MetadataValue> metadata)
    {
        if (!metadata.TryGetValue(ModelExporter.ConfigKey, out var value) || !value.IsString) return null;
        try
        {
            return JsonSerializer.Deserialize(value.String, TrainerJson.Default.TrainingConfig);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    // Control characters shown as escapes, so a vocabulary with a newline stays on one line.
    private static string Printable(string text)
    {
        var shown = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            shown.Append(c switch
            {
                '\n' => "\\n",
                '\t' => "\\t",
                '\r' => "\\r",
                _ when char.IsControl(c) => $"\\u{(int)c:X4}",
                _ => c.ToString(),
            });
        }
        return shown.ToString();
    }
}
