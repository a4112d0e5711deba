using System.Text;
using System.Text.Json;

namespace TextGen.Trainer.Training;

/// <summary>One evaluation of a run, as one line of metrics.jsonl.</summary>
/// <param name="Step">Optimizer steps taken.</param>
/// <param name="Epoch">Passes over the training split, fractional.</param>
/// <param name="Lr">Learning rate of the last step.</param>
/// <param name="TrainLoss">Mean training loss since the previous evaluation (nats per character).</param>
/// <param name="ValLoss">Loss on the whole validation split (nats per character).</param>
/// <param name="CharsPerSec">Training characters per second of step time since the previous evaluation.</param>
/// <param name="ElapsedSeconds">Training time of the run so far, across sessions.</param>
internal sealed record EvaluationRecord(long Step, double Epoch, double Lr, double TrainLoss, double ValLoss, double CharsPerSec, double ElapsedSeconds)
{
    /// <summary>Whether <see cref="ValLoss"/> scores the running weight mean of <c>--average-from</c> rather than the trained weights.</summary>
    public bool Averaged { get; init; }
}

/// <summary>
/// DIR/metrics.jsonl: one JSON object per evaluation with step, epoch, lr, train_loss, val_loss, chars_per_sec,
/// elapsed_s and averaged (whether val_loss scores the averaged weights). Lines are appended and flushed as they happen, so a plot can follow a live run.
/// </summary>
internal sealed class MetricsLog
{
    /// <summary>File name inside a run directory.</summary>
    public const string FileName = "metrics.jsonl";

    private readonly string _path;

    /// <summary>The log of the run in <paramref name="runDirectory"/>.</summary>
    public MetricsLog(string runDirectory) => _path = Path.Combine(runDirectory, FileName);

    /// <summary>Every complete line so far, in order; empty when the file does not exist yet.</summary>
    /// <exception cref="IOException">The file exists but cannot be read.</exception>
    public IReadOnlyList<EvaluationRecord> Read() =>
        File.Exists(_path) ? File.ReadAllLines(_path).Select(Parse).OfType<EvaluationRecord>().ToList() : [];

    /// <summary>Appends one line.</summary>
    public void Append(EvaluationRecord record)
    {
        using var stream = new FileStream(_path, FileMode.Append, FileAccess.Write);
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteNumber("step", record.Step);
            json.WriteNumber("epoch", Math.Round(record.Epoch, 4));
            json.WriteNumber("lr", record.Lr);
            WriteLoss(json, "train_loss", record.TrainLoss);
            WriteLoss(json, "val_loss", record.ValLoss);
            json.WriteNumber("chars_per_sec", Math.Round(record.CharsPerSec, 1));
            json.WriteNumber("elapsed_s", Math.Round(record.ElapsedSeconds, 3));
            json.WriteBoolean("averaged", record.Averaged);
            json.WriteEndObject();
        }
        stream.WriteByte((byte)'\n');
    }

    /// <summary>
    /// Drops lines after <paramref name="step"/>: a resumed or rolled-back run repeats those steps and writes them again.
    /// </summary>
    public void TruncateAfter(long step)
    {
        if (!File.Exists(_path)) return;
        var kept = File.ReadAllLines(_path).Where(line => Parse(line) is { } record && record.Step <= step).ToList();
        string temp = _path + ".tmp";
        File.WriteAllLines(temp, kept, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        File.Move(temp, _path, overwrite: true);
    }

    // Null for a line torn by a crash mid-write, or one that is not a metrics record at all.
    private static EvaluationRecord? Parse(string line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            var r = doc.RootElement;
            return new EvaluationRecord(
                r.GetProperty("step").GetInt64(),
                r.GetProperty("epoch").GetDouble(),
                r.GetProperty("lr").GetDouble(),
                ReadLoss(r.GetProperty("train_loss")),
                ReadLoss(r.GetProperty("val_loss")),
                r.GetProperty("chars_per_sec").GetDouble(),
                r.GetProperty("elapsed_s").GetDouble())
            {
                // Lines written before averaging existed lack the key; they validated the trained weights.
                Averaged = r.TryGetProperty("averaged", out var averaged) && averaged.GetBoolean(),
            };
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    private static double ReadLoss(JsonElement value) => value.ValueKind == JsonValueKind.Null ? double.NaN : value.GetDouble();

    // JSON has no NaN; a diverged loss is written as null rather than breaking every reader of the file.
    private static void WriteLoss(Utf8JsonWriter json, string name, double value)
    {
        if (double.IsFinite(value)) json.WriteNumber(name, value);
        else json.WriteNull(name);
    }
}
