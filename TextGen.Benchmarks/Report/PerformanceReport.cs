using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using TextGen.Runtime.Format;
using TextGen.Runtime.Model;
using TextGen.Trainer.Data;

namespace TextGen.Benchmarks.Report;

/// <summary>
/// Issue #5 §6: the <c>report</c> command. It runs every measurement the issue asks for (<see cref="ReportPlan"/>) in
/// one process, one after another, echoing each command's output as it goes, checks the targets
/// (<see cref="IssueTargets"/>) and writes the result (<see cref="ReportMarkdown"/>) between the markers of
/// <c>--out</c>, <c>docs/performance.md</c> (<see cref="ReportDocument"/>), or to the output without <c>--out</c>.
/// The file is written only when every step measured, and atomically.
/// </summary>
internal static class PerformanceReport
{
    /// <summary>The <c>report</c> command.</summary>
    public static Command Command()
    {
        var model = new Option<string>("--model") { Description = "The shipped weight file (*.tgm)", Required = true };
        var hidden = new Option<string>("--hidden") { Description = "Hidden sizes of random 2-layer LSTMs to compare on too, comma-separated (\"\" for none)", DefaultValueFactory = _ => "512,128" };
        var corpus = new Option<string?>("--corpus") { Description = "Text for the validation losses of f32, f16 and q8 (the trainer's eval); without it they are not measured" };
        var output = new Option<string?>("--out") { Description = "Markdown file to write the report into, between its report:begin and report:end lines; without it the report is printed" };
        var chars = new Option<int>("--chars") { Description = $"Characters per engine and round (5x at hidden <= {ReportPlan.SmallHidden})", DefaultValueFactory = _ => 2_000 };
        var rounds = new Option<int>("--rounds") { Description = "Rounds of each speed measurement", DefaultValueFactory = _ => 9 };
        var loadRounds = new Option<int>("--load-rounds") { Description = "Warm loads of the load-time measurement", DefaultValueFactory = _ => 40 };
        chars.AtLeastOne(BenchmarkOptions.MaxChars);
        rounds.AtLeastOne(BenchmarkOptions.MaxRounds);
        loadRounds.AtLeastOne(BenchmarkOptions.MaxRounds);
        hidden.Validators.Add(result =>
        {
            if (result.TryGetValue(out string? list) && ParseHidden(list) is null) result.AddError($"--hidden must list hidden sizes from 1 to {ModelArchitecture.MaxHiddenSize}, comma-separated (got \"{list}\")");
        });
        var command = new Command("report", "Run every issue #5 measurement and write the results, the targets table and the commands into docs/performance.md")
        {
            model, hidden, corpus, output, chars, rounds, loadRounds,
        };
        command.SetAction(parse =>
        {
            var settings = new ReportSettings(parse.GetRequiredValue(model), ParseHidden(parse.GetRequiredValue(hidden))!, parse.GetValue(corpus),
                parse.GetValue(chars), parse.GetValue(rounds), parse.GetValue(loadRounds));
            return Run(settings, parse.GetValue(output), parse.InvocationConfiguration);
        });
        return command;
    }

    private static int[]? ParseHidden(string? list)
    {
        // An empty list compares on no random model; an empty entry in a list ("512,,128") is a typo, not a size to skip.
        if (string.IsNullOrWhiteSpace(list)) return [];
        var sizes = list.Split(',', StringSplitOptions.TrimEntries)
            .Select(s => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n is >= 1 and <= ModelArchitecture.MaxHiddenSize ? n : (int?)null).ToArray();
        return sizes.Any(n => n is null) ? null : sizes.Select(n => n!.Value).ToArray();
    }

    /// <summary>
    /// The model's f32 and q8 file sizes, which are all the targets need of it. The model itself does not outlive this
    /// call, so the steps measure in a process that holds no more than the commands they print would hold.
    /// </summary>
    private static bool TryReadFileSizes(string path, TextWriter error, out long f32Bytes, out long q8Bytes)
    {
        f32Bytes = q8Bytes = 0;
        if (!BenchmarkOptions.TryReadModel(path, error, out ModelFile file)) return false;
        f32Bytes = file.ConvertTo(TensorDType.F32).ToBytes().Length;
        q8Bytes = file.ConvertTo(TensorDType.Q8).ToBytes().Length;
        return true;
    }

    private static int Run(ReportSettings settings, string? outPath, InvocationConfiguration console)
    {
        TextWriter output = console.Output, error = console.Error;
        // Everything that can be refused is checked before the measurements, which take minutes.
        if (!TryReadFileSizes(settings.ModelPath, error, out long f32Bytes, out long q8Bytes)) return 1;
        if (settings.CorpusPath is not null && !CanReadCorpus(settings.CorpusPath, error)) return 1;
        if (outPath is not null && !(TryReadDocument(outPath, error, out _) && CanWrite(outPath, error))) return 1;

        DateTime started = DateTime.UtcNow;
        long begin = Stopwatch.GetTimestamp();
        string revision = Revision(); // of the checkout as the run starts, not as edits during it leave it
        string? loadAtStart = MachineDescription.LoadAverage();
        var results = new List<StepResult>();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        foreach (ReportStep step in ReportPlan.Steps(settings))
        {
            output.WriteLine($"$ {step.CommandLine}");
            StepResult result = step.Run();
            foreach (string line in result.Lines) output.WriteLine(line);
            if (result.ExitCode != 0)
            {
                error.WriteLine($"report: `{step.CommandLine}` failed (exit code {result.ExitCode}), so nothing was written: {result.Error}");
                return 1;
            }
            results.Add(result);
            GC.Collect(); // the step's models and engines go before the next step measures
            GC.WaitForPendingFinalizers();
        }

        var targets = IssueTargets.Check(results, f32Bytes, q8Bytes);
        string? loadAtEnd = MachineDescription.LoadAverage();
        var run = new ReportRun(CommandLine(settings, outPath), started, Stopwatch.GetElapsedTime(begin), revision, MachineDescription.Current(),
            loadAtStart is null || loadAtEnd is null ? null : (loadAtStart, loadAtEnd), results, targets);
        string section = ReportMarkdown.Render(run);
        if (outPath is null)
        {
            output.WriteLine(section);
        }
        else
        {
            // Read again: the file may have been edited while the measurements ran, and those edits must survive.
            if (!TryReadDocument(outPath, error, out string? document)) return 1;
            try
            {
                ModelFileStorage.WriteFileAtomically(outPath, Encoding.UTF8.GetBytes(ReportDocument.Replace(document!, section, outPath)));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                error.WriteLine($"{outPath}: cannot write the report: {e.Message}");
                return 1;
            }
        }
        output.WriteLine(new JsonObject
        {
            ["report"] = new JsonObject
            {
                ["out"] = outPath,
                ["minutes"] = Math.Round(run.Duration.TotalMinutes, 1),
                ["targets_met"] = targets.Count(t => t.Status == TargetStatus.Met),
                ["targets_not_met"] = targets.Count(t => t.Status == TargetStatus.NotMet),
                ["targets_not_measured"] = targets.Count(t => t.Status == TargetStatus.NotMeasured),
            },
        }.ToJsonString());
        return 0;
    }

    // The file must exist and hold the markers once each; checked by replacing the section with nothing.
    private static bool TryReadDocument(string path, TextWriter error, out string? document)
    {
        document = null;
        if (path.Length == 0 || Directory.Exists(path))
        {
            error.WriteLine($"--out \"{path}\": give the Markdown file that holds the report:begin and report:end lines");
            return false;
        }
        try
        {
            document = File.ReadAllText(path);
            ReportDocument.Replace(document, "", path);
            return true;
        }
        catch (InvalidDataException e)
        {
            error.WriteLine(e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"{path}: cannot read the report's file: {e.Message}");
        }
        return false;
    }

    // The trainer's eval reads the corpus last, after minutes of measuring: a missing, empty or binary one is named now.
    private static bool CanReadCorpus(string path, TextWriter error)
    {
        try
        {
            Corpus.Load(path);
            return true;
        }
        catch (CorpusException e)
        {
            error.WriteLine(e.Message);
            return false;
        }
    }

    // The document is replaced at the end, after minutes of measuring: a file that cannot be written is named now.
    private static bool CanWrite(string path, TextWriter error)
    {
        try
        {
            using (new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite)) { }
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"{path}: cannot write the report: {e.Message}");
            return false;
        }
    }

    private static string CommandLine(ReportSettings s, string? outPath)
    {
        var args = new List<string> { "report", "--model", s.ModelPath, "--hidden", string.Join(',', s.Hidden) };
        if (s.CorpusPath is not null) args.AddRange(["--corpus", s.CorpusPath]);
        if (outPath is not null) args.AddRange(["--out", outPath]);
        args.AddRange(["--chars", s.Chars.ToString(CultureInfo.InvariantCulture), "--rounds", s.Rounds.ToString(CultureInfo.InvariantCulture), "--load-rounds", s.LoadRounds.ToString(CultureInfo.InvariantCulture)]);
        return ReportStep.ShellLine("TextGen.Benchmarks", args);
    }

    // The commit measured, from git where the report runs in a checkout.
    private static string Revision()
    {
        string? commit = Git("rev-parse", "--short", "HEAD");
        if (commit is null) return "an unknown revision (not a git checkout)";
        string? changes = Git("status", "--porcelain", "--untracked-files=no");
        return string.IsNullOrEmpty(changes) ? $"commit {commit}" : $"commit {commit} with uncommitted changes";
    }

    private static string? Git(params string[] args)
    {
        try
        {
            var start = new ProcessStartInfo("git") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string arg in args) start.ArgumentList.Add(arg);
            using var git = Process.Start(start)!;
            var errors = git.StandardError.ReadToEndAsync(); // drained beside stdout, so neither pipe can fill and stall git
            string text = git.StandardOutput.ReadToEnd().Trim();
            errors.Wait();
            git.WaitForExit();
            return git.ExitCode == 0 ? text : null;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return null;
        }
    }
}
