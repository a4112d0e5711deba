using System.Text.RegularExpressions;
using TextGen.Tests.Support;

namespace TextGen.Tests.Demo;

/// <summary>
/// Issue #7 §5: the demo (and with it the Runtime and System.CommandLine) publishes as a NativeAOT binary with no
/// trim or AOT warning, and that binary writes exactly the text the JIT-compiled demo writes for the same arguments.
/// The publish runs on a copy of the sources, so its RID-specific restore and build leave the working tree alone.
/// </summary>
[Category("Slow")]
public sealed partial class NativeAotPublishTests
{
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromMinutes(15);
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(1);

    // What publishing needs: the build settings, the two projects, the parse-error text the demo links from the
    // trainer's sources, and the shipped models.
    private static readonly string[] Sources =
    {
        "global.json", "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props",
        "TextGen.Trainer/Native", "TextGen.Trainer/Cli/ParseErrorText.cs", "TextGen.Runtime", "TextGen.Demo", "artifacts",
    };

    private static readonly string[][] Generations =
    {
        new[] { "--model", "artifacts/count123.tgm", "--prime", "1 ", "--length", "200", "--seed", "1", "--temperature", "1" },
        new[] { "--model", "artifacts/count123.tgm", "--prime", "3", "--length", "200", "--seed", "2", "--temperature", "1.5", "--strict" },
        new[] { "--model", "artifacts/shakespeare.tgm", "--prime", "ROMEO:", "--length", "300", "--seed", "7", "--temperature", "0.8" },
        new[] { "--model", "artifacts/shakespeare.tgm", "--prime", "NURSE:\n", "--length", "300", "--seed", "8", "--top-k", "20", "--strict" },
    };

    [GeneratedRegex(@"warning (IL|CS)\d{4}")]
    private static partial Regex TrimOrAotWarning();

    private string _work = "";

    [SetUp]
    public void CopySources()
    {
        _work = Path.Combine(Path.GetTempPath(), $"textgen-aot-{Guid.NewGuid():N}");
        foreach (string source in Sources) Copy(Repository.PathOf(source), Path.Combine(_work, "src", source));
    }

    [TearDown]
    public void DeleteCopy() => Directory.Delete(_work, recursive: true);

    [Test]
    public void NativeBinaryPublishesWithoutWarningsAndWritesWhatTheJitBuildWrites()
    {
        string published = Path.Combine(_work, "native");
        var publish = ChildProcess.RunDotnetBuild(new[]
        {
            "publish", Path.Combine(_work, "src", "TextGen.Demo", "TextGen.Demo.csproj"), "-c", "Release", "-r", "linux-x64",
            "-p:PublishAot=true", "-o", published,
        }, _work, PublishTimeout);
        Assert.That(publish.ExitCode, Is.EqualTo(0), publish.ToString());
        Assert.That(TrimOrAotWarning().Matches(publish.Output + publish.Error), Is.Empty, publish.ToString());

        string native = Path.Combine(published, "TextGen.Demo");
        string jit = Path.Combine(AppContext.BaseDirectory, "TextGen.Demo.dll");
        foreach (string[] arguments in Generations)
        {
            string[] args = new[] { "generate" }.Concat(arguments).ToArray();
            var fromNative = ChildProcess.Run(native, args, AppContext.BaseDirectory, RunTimeout);
            var fromJit = ChildProcess.Run(ChildProcess.Dotnet, new[] { jit }.Concat(args), AppContext.BaseDirectory, RunTimeout);
            Assert.That(fromJit.ExitCode, Is.EqualTo(0), fromJit.ToString());
            Assert.That(fromNative.ExitCode, Is.EqualTo(0), fromNative.ToString());
            Assert.That(fromJit.Output, Has.Length.GreaterThanOrEqualTo(200));
            Assert.That(fromNative.Output, Is.EqualTo(fromJit.Output), string.Join(' ', args));
        }
    }

    private static void Copy(string source, string destination)
    {
        if (File.Exists(source))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(source, destination);
            return;
        }
        foreach (string file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(source, file);
            if (relative.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj")) continue;
            Copy(file, Path.Combine(destination, relative));
        }
    }
}
