using TextGen.Benchmarks.Report;

namespace TextGen.Tests.Benchmarks;

/// <summary>The report's command lines: pasted into a POSIX shell, each must run the step it lists.</summary>
public sealed class ReportStepTests
{
    [Test]
    public void ArgumentsAShellWouldSplitOrExpandAreQuoted()
    {
        string line = ReportStep.ShellLine("TextGen.Benchmarks", ["compare", "--model", "my models/it's.tgm", "--filter", "*", "--hidden", "512,128", ""]);

        Assert.That(line, Is.EqualTo("dotnet run -c Release --project TextGen.Benchmarks -- compare --model 'my models/it'\\''s.tgm' --filter '*' --hidden 512,128 ''"));
    }

    [Test]
    public void TheTrainersEvalRunsInItsOwnProject()
    {
        var eval = new ReportStep(StepKind.Evaluation, "shipped", null, ["eval", "--model", "m.tgm"]);
        var load = new ReportStep(StepKind.LoadTime, "shipped", null, ["load-time", "--model", "m.tgm"]);

        Assert.That(eval.CommandLine, Is.EqualTo("dotnet run -c Release --project TextGen.Trainer -- eval --model m.tgm"));
        Assert.That(load.CommandLine, Is.EqualTo("dotnet run -c Release --project TextGen.Benchmarks -- load-time --model m.tgm"));
    }
}
