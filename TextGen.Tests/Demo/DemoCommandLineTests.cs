using TextGen.Demo;
using TextGen.Runtime.Format;
using TextGen.Tests.Support;

namespace TextGen.Tests.Demo;

/// <summary>The demo's <c>generate</c>, <c>--interactive</c> and error handling, run in-process on a small model.</summary>
public sealed class DemoCommandLineTests
{
    private string _directory = "";
    private string _model = "";

    [SetUp]
    public void CreateModel()
    {
        _directory = Directory.CreateTempSubdirectory("textgen-demo-").FullName;
        _model = Path.Combine(_directory, "small.tgm");
        RandomModels.Create(RandomModels.Architecture(CellKind.Lstm, layers: 2, hidden: 16, vocab: 40), seed: 7, scale: 1.5f).WriteFile(_model);
    }

    [TearDown]
    public void DeleteModel() => Directory.Delete(_directory, recursive: true);

    [Test]
    public void GenerateIsDeterministicForASeed()
    {
        var first = Run("generate", "--model", _model, "--prime", "ABC", "--length", "200", "--seed", "42", "--temperature", "1");
        var second = Run("generate", "--model", _model, "--prime", "ABC", "--length", "200", "--seed", "42", "--temperature", "1");
        var other = Run("generate", "--model", _model, "--prime", "ABC", "--length", "200", "--seed", "43", "--temperature", "1");

        Assert.That(first.Code, Is.EqualTo(DemoCommandLine.Ok), first.Error);
        Assert.That(first.Output, Has.Length.EqualTo(200));
        Assert.That(second.Output, Is.EqualTo(first.Output));
        Assert.That(other.Output, Is.Not.EqualTo(first.Output));
        Assert.That(first.Error, Is.Empty);
    }

    [Test]
    public void GeneratePrintsOnlyTheTextBeforeTheStopString()
    {
        var full = Run("generate", "--model", _model, "--prime", "AB", "--length", "300", "--seed", "3", "--top-k", "5", "--top-p", "0.9");
        Assert.That(full.Code, Is.EqualTo(DemoCommandLine.Ok), full.Error);
        string stop = full.Output.Substring(100, 2);
        int at = full.Output.IndexOf(stop, StringComparison.Ordinal);

        var stopped = Run("generate", "--model", _model, "--prime", "AB", "--length", "300", "--seed", "3", "--top-k", "5", "--top-p", "0.9", "--stop", stop);

        Assert.That(stopped.Code, Is.EqualTo(DemoCommandLine.Ok), stopped.Error);
        Assert.That(stopped.Output, Is.EqualTo(full.Output[..at]));
    }

    [Test]
    public void UnusableModelFileIsAFailureNamingTheFile(
        [Values("missing", "directory", "unreadable", "empty", "corrupt")] string kind,
        [Values] bool interactive)
    {
        string path = kind == "corrupt" ? Corrupt() : UnusableFiles.Create(_directory, kind);
        var result = interactive ? Run(new StringReader("A\n"), "--interactive", "--model", path) : Run("generate", "--model", path, "--prime", "A");
        Assert.That(result.Code, Is.EqualTo(DemoCommandLine.Failure));
        Assert.That(result.Error, Does.StartWith(path + ": " + (kind == "corrupt" ? "" : UnusableFiles.ModelFileProblem(kind))));
        Assert.That(result.Error, Does.Not.Contain("   at "), "no stack trace");
        Assert.That(result.Output, Is.Empty);
    }

    private string Corrupt()
    {
        byte[] bytes = File.ReadAllBytes(_model);
        bytes[bytes.Length / 2] ^= 0x10;
        string corrupt = Path.Combine(_directory, "corrupt.tgm");
        File.WriteAllBytes(corrupt, bytes);
        return corrupt;
    }

    [Test]
    public void UnknownPrimeCharacterIsAUsageErrorNamingIt()
    {
        var result = Run("generate", "--model", _model, "--prime", "AB\u00e9");
        Assert.That(result.Code, Is.EqualTo(DemoCommandLine.Usage));
        Assert.That(result.Error, Does.Contain("--prime").And.Contain("U+00E9").And.Contain("position 2"));
        Assert.That(result.Output, Is.Empty);
    }

    [TestCase("--temperature", "-1")]
    [TestCase("--temperature", "NaN")]
    [TestCase("--top-p", "0")]
    [TestCase("--top-k", "-3")]
    [TestCase("--length", "-5")]
    [TestCase("--length", "many")]
    [TestCase("--temperature", "Infinity")]
    [TestCase("--top-p", "1.5")]
    [TestCase("--seed", "-1")]
    [TestCase("--stop", "")]
    public void NonsenseOptionValueIsAUsageErrorNamingTheOption(string option, string value)
    {
        var result = Run("generate", "--model", _model, "--prime", "A", option, value);
        Assert.That(result.Code, Is.EqualTo(DemoCommandLine.Usage));
        Assert.That(result.Error, Does.Contain(option));
        Assert.That(result.Output, Is.Empty);
    }

    [TestCase("--duration", "0")]
    [TestCase("--duration", "NaN")]
    [TestCase("--budget-ms", "0")]
    [TestCase("--budget-ms", "20")]
    [TestCase("--length", "-1")]
    public void NonsenseSceneOptionIsAUsageErrorNamingTheOption(string option, string value)
    {
        var result = Run("--model", _model, option, value);
        Assert.That(result.Code, Is.EqualTo(DemoCommandLine.Usage));
        Assert.That(result.Error, Does.Contain(option));
        Assert.That(result.Output, Is.Empty, "the scene does not start");
    }

    [Test]
    public void GenerationOptionsMayComeBeforeGenerate()
    {
        var before = Run("--model", _model, "--seed", "42", "--length", "200", "--temperature", "1", "generate", "--prime", "ABC");
        var after = Run("generate", "--model", _model, "--prime", "ABC", "--length", "200", "--seed", "42", "--temperature", "1");
        var otherSeed = Run("--seed", "43", "generate", "--model", _model, "--prime", "ABC", "--length", "200", "--temperature", "1");

        Assert.That(before.Code, Is.EqualTo(DemoCommandLine.Ok), before.Error);
        Assert.That(before.Output, Has.Length.EqualTo(200));
        Assert.That(before.Output, Is.EqualTo(after.Output));
        Assert.That(otherSeed.Output, Is.Not.EqualTo(after.Output), "the seed given before generate was ignored");
    }

    [TestCase("--duration", "5")]
    [TestCase("--budget-ms", "2")]
    [TestCase("--interactive", null)]
    public void SceneOptionsBeforeGenerateAreAUsageError(string option, string? value)
    {
        var args = new List<string> { option };
        if (value is not null) args.Add(value);
        args.AddRange(["generate", "--model", _model, "--prime", "A"]);

        var result = Run(args.ToArray());

        Assert.That(result.Code, Is.EqualTo(DemoCommandLine.Usage));
        Assert.That(result.Error.TrimEnd(), Is.EqualTo($"{option} is an option of the scene, not of generate"));
        Assert.That(result.Output, Is.Empty);
    }

    [Test]
    public void WithoutAPrimeGenerateStartsFromALineBreakOnlyWhenTheModelKnowsOne()
    {
        string withLineBreak = Path.Combine(_directory, "lines.tgm");
        RandomModels.Create(new ModelArchitecture(CellKind.Lstm, 1, 16, 4, [10, 'A', 'B', 'C', ' ']), seed: 3, scale: 1.5f).WriteFile(withLineBreak);

        var lines = Run("generate", "--model", withLineBreak, "--length", "100", "--seed", "5");
        var lineBreak = Run("generate", "--model", withLineBreak, "--length", "100", "--seed", "5", "--prime", "\n");
        var nothing = Run("generate", "--model", withLineBreak, "--length", "100", "--seed", "5", "--prime", "");
        var noLines = Run("generate", "--model", _model, "--length", "100", "--seed", "5");
        var noLinesNothing = Run("generate", "--model", _model, "--length", "100", "--seed", "5", "--prime", "");

        Assert.That(lines.Code, Is.EqualTo(DemoCommandLine.Ok), lines.Error);
        Assert.That(lines.Output, Is.EqualTo(lineBreak.Output));
        Assert.That(lines.Output, Is.Not.EqualTo(nothing.Output), "the line break made no difference, so the case shows nothing");
        Assert.That(noLines.Code, Is.EqualTo(DemoCommandLine.Ok), noLines.Error);
        Assert.That(noLines.Output, Has.Length.EqualTo(100));
        Assert.That(noLines.Output, Is.EqualTo(noLinesNothing.Output));
    }

    [TestCase("generate", "--bogus")]
    [TestCase("--interactive", "--prime", "x")]
    [TestCase("generate", "--seed", "-1")]
    public void AParseErrorIsOneLine(params string[] args)
    {
        var result = Run(args);

        Assert.That(result.Code, Is.EqualTo(DemoCommandLine.Usage));
        Assert.That(result.Error.TrimEnd(), Does.Not.Contain('\n'));
        Assert.That(result.Error, Does.Contain(args[^1]).And.EndWith("Run with --help for usage." + Environment.NewLine));
    }

    // System.CommandLine's own text names .NET types ("as expected type 'System.UInt64'"); the user typed an option.
    [TestCase("--seed", "abc", "--seed takes a whole number from 0 to 18446744073709551615, not 'abc'.")]
    [TestCase("--length", "ten", "--length takes a whole number up to 2147483647, not 'ten'.")]
    [TestCase("--top-p", "most", "--top-p takes a number, not 'most'.")]
    public void AValueThatIsNotANumberIsNamedWithWhatTheOptionTakes(string option, string value, string message)
    {
        var result = Run("generate", "--model", _model, option, value);

        Assert.That(result.Code, Is.EqualTo(DemoCommandLine.Usage));
        Assert.That(result.Error, Is.EqualTo(message + " Run with --help for usage." + Environment.NewLine));
    }

    [Test]
    public void InteractiveContinuesEachPrimeAndReportsUnknownCharacters()
    {
        var result = Run(new StringReader("ABC\nA\u00e9\nABC\n"), "--interactive", "--model", _model, "--length", "50", "--seed", "9");
        var direct = Run("generate", "--model", _model, "--prime", "ABC", "--length", "50", "--seed", "9");

        Assert.That(result.Code, Is.EqualTo(DemoCommandLine.Ok), result.Error);
        var sessions = result.Output.Split("prime> ");
        Assert.That(sessions, Has.Length.EqualTo(5), result.Output);
        Assert.That(sessions[1], Is.EqualTo("ABC" + direct.Output + Environment.NewLine), "a prime and its continuation, as generate prints it");
        Assert.That(sessions[2], Does.Contain("U+00E9"));
        Assert.That(sessions[3], Is.EqualTo(sessions[1]), "each prime starts from a fresh state");
    }

    private static (int Code, string Output, string Error) Run(params string[] args) => Run(TextReader.Null, args);

    private static (int Code, string Output, string Error) Run(TextReader input, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = DemoCommandLine.Run(args, input, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
