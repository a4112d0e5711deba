using TextGen.Runtime.Format;
using TextGen.Tests.Support;

namespace TextGen.Tests.Benchmarks;

/// <summary>
/// The benchmark tool as a developer runs it, a separate process: bad input ends it with exit code 1 and a message
/// naming the problem, never an aborted process, an unhandled exception's trace or a wait that does not end.
/// </summary>
public sealed class BenchmarkProcessTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    private string _directory = "";
    private string _model = "";
    private string _corpus = "";

    [SetUp]
    public void CreateFiles()
    {
        _directory = Directory.CreateTempSubdirectory("textgen-bench-").FullName;
        _model = Path.Combine(_directory, "small.tgm");
        RandomModels.Create(RandomModels.Architecture(CellKind.Lstm, layers: 1, hidden: 8, vocab: 20), seed: 3).WriteFile(_model);
        _corpus = Path.Combine(_directory, "corpus.txt");
        File.WriteAllText(_corpus, "one two three four five six seven eight nine ten\n");
    }

    [TearDown]
    public void DeleteFiles() => Directory.Delete(_directory, recursive: true);

    private static ChildProcess.Result Run(params string[] args) =>
        ChildProcess.Run(ChildProcess.Dotnet, [Path.Combine(AppContext.BaseDirectory, "TextGen.Benchmarks.dll"), .. args], AppContext.BaseDirectory, Timeout);

    private static IEnumerable<TestCaseData> BadInputs()
    {
        // {model}, {corpus} and {dir} stand for the test's files; each case names the fragment its message must hold.
        yield return Case("a value that does not convert, in a checked option", "--threads takes a whole number up to 2147483647, not 'abc'", "thread-scaling", "--model", "{model}", "--chars", "50", "--rounds", "1", "--threads", "abc");
        yield return Case("a value that does not convert, in an option read by a command check", "--hidden takes a whole number up to 2147483647, not 'abc'", "compare", "--hidden", "abc");
        yield return Case("too many threads", "--threads must be 1 to 1024 (got 100000)", "thread-scaling", "--model", "{model}", "--threads", "100000");
        yield return Case("too many characters", "--chars must be 1 to 10000000 (got 2147483647)", "compare", "--hidden", "8", "--chars", "2147483647");
        yield return Case("no rounds", "--rounds must be 1 to 10000 (got 0)", "generation-speed", "--model", "{model}", "--rounds", "0");
        yield return Case("a dtype twice", "each once", "generation-speed", "--model", "{model}", "--dtypes", "f32,f32");
        yield return Case("a device as the model", "/dev/zero: the file's size is 0 bytes", "load-time", "--model", "/dev/zero", "--rounds", "1");
        yield return Case("a directory as the model", "the path is a directory", "load-time", "--model", "{dir}", "--rounds", "1");
        yield return Case("a missing model", "the file does not exist", "sample-words", "--model", "{dir}/absent.tgm", "--corpus", "{corpus}");
        yield return Case("a missing corpus", "absent.txt", "sample-words", "--model", "{model}", "--corpus", "{dir}/absent.txt", "--samples", "1");
        yield return Case("a temperature that is not a number", "--temperature must be a finite number of at least 0 (got NaN)", "sample-words", "--model", "{model}", "--corpus", "{corpus}", "--temperature", "NaN");
        yield return Case("a missing corpus for the trainer", "absent.txt: no such file", "trainer-throughput", "--corpus", "{dir}/absent.txt", "--hidden", "8", "--steps", "1", "--rounds", "1");
        yield return Case("no hidden units for the trainer", "--hidden must be 1 to 8192 (got 0)", "trainer-throughput", "--hidden", "0");
        yield return Case("an empty hidden size", "--hidden must list hidden sizes from 1 to 8192, comma-separated (got \"16,,32\")", "report", "--model", "{model}", "--hidden", "16,,32", "--out", "{dir}/absent.md");
        yield return Case("an option the suite does not know", "bogus", "suite", "--bogus");
        yield return Case("an empty report file name", "give the Markdown file", "report", "--model", "{model}", "--out", "");
        yield return Case("a directory as the report's corpus", "is a directory, not a text file", "report", "--model", "{model}", "--corpus", "{dir}", "--out", "{dir}/absent.md");
        yield return Case("a corpus folder that cannot be made", "/proc/textgen", "fuzz-tgm", "--write-corpus", "/proc/textgen");
    }

    private static TestCaseData Case(string what, string fragment, params string[] args) => new TestCaseData(args, fragment).SetName($"{{m}}({what})");

    [TestCaseSource(nameof(BadInputs))]
    public void BadInputEndsWithOneMessage(string[] args, string fragment)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("the cases use /dev/zero and /proc");
        var result = Run(args.Select(a => a.Replace("{model}", _model).Replace("{corpus}", _corpus).Replace("{dir}", _directory)).ToArray());

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(1), result.Error);
            Assert.That(result.Error, Does.Contain(fragment));
            Assert.That(result.Error, Does.Not.Contain("Unhandled exception").And.Not.Contain("   at "), "a stack trace");
        }
    }

    [Test]
    public void SampleWordsPrimesWithNothingWhenTheModelHasNoLineBreak()
    {
        var result = Run("sample-words", "--model", _model, "--corpus", _corpus, "--samples", "2", "--length", "30");

        Assert.That(result.ExitCode, Is.Zero, result.Error);
        Assert.That(result.Output.TrimEnd().Split('\n')[^1], Does.StartWith("{\"known_word_fraction\":"));
    }
}
