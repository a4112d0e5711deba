using System.Globalization;

namespace TextGen.Benchmarks.Report;

/// <summary>What the report measures, as issue #5 asks it measured.</summary>
/// <param name="ModelPath">The shipped weight file.</param>
/// <param name="Hidden">Hidden sizes of the random 2-layer LSTMs to compare on as well (the 512 and 128).</param>
/// <param name="CorpusPath">The text to take validation losses on; null to skip them.</param>
/// <param name="Chars">Characters per engine and round (five times as many at hidden ≤ <see cref="ReportPlan.SmallHidden"/>).</param>
/// <param name="Rounds">Rounds of each speed measurement.</param>
/// <param name="LoadRounds">Warm loads of the load-time measurement.</param>
internal sealed record ReportSettings(string ModelPath, IReadOnlyList<int> Hidden, string? CorpusPath, int Chars, int Rounds, int LoadRounds);

/// <summary>The report's steps, in the order they run.</summary>
internal static class ReportPlan
{
    /// <summary>At or below this hidden size the weights stay in L2 and a step is about 5× shorter, so rounds get 5× the characters.</summary>
    public const int SmallHidden = 128;

    /// <summary>The session count issue #5 §4 sets its batch target at.</summary>
    public const int BatchSessions = 32;

    /// <summary>
    /// Load time first, while the process is still cold as a game's first load is; then <c>compare</c> on the weight
    /// file and on each random model; then batches (as the file is, then in q8), threads and strict mode on the weight
    /// file; the losses last.
    /// </summary>
    public static IReadOnlyList<ReportStep> Steps(ReportSettings settings)
    {
        string model = settings.ModelPath, chars = Text(settings.Chars), rounds = Text(settings.Rounds);
        string label = $"shipped ({Path.GetFileName(model)})";
        var steps = new List<ReportStep>
        {
            new(StepKind.LoadTime, label, null, ["load-time", "--model", model, "--rounds", Text(settings.LoadRounds)]),
            new(StepKind.Compare, label, null, ["compare", "--model", model, "--chars", chars, "--rounds", rounds]),
        };
        foreach (int hidden in settings.Hidden)
        {
            string perRound = Text(hidden <= SmallHidden ? 5 * settings.Chars : settings.Chars);
            steps.Add(new(StepKind.Compare, $"random LSTM 2×{hidden}", hidden, ["compare", "--hidden", Text(hidden), "--chars", perRound, "--rounds", rounds]));
        }
        steps.Add(new(StepKind.BatchScaling, label, null, ["batch-scaling", "--model", model, "--sessions", $"1,{BatchSessions}", "--chars", chars, "--rounds", rounds]));
        // A crowd in q8 too, the fastest dtype for one, whose batches are bound by integer arithmetic instead.
        steps.Add(new(StepKind.BatchScaling, $"{label}, q8", null, ["batch-scaling", "--model", model, "--dtype", "q8", "--sessions", $"1,{BatchSessions}", "--chars", chars, "--rounds", rounds]));
        steps.Add(new(StepKind.ThreadScaling, label, null, ["thread-scaling", "--model", model, "--chars", chars, "--rounds", rounds]));
        steps.Add(new(StepKind.GenerationSpeed, label, null, ["generation-speed", "--model", model, "--chars", chars, "--rounds", rounds]));
        if (settings.CorpusPath is not null)
        {
            steps.Add(new(StepKind.Evaluation, label, null, ["eval", "--model", model, "--corpus", settings.CorpusPath, "--dtypes", "f32,f16,q8"]));
        }
        return steps;
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
