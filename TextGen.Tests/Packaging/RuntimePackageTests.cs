using System.IO.Compression;
using System.Xml.Linq;
using TextGen.Runtime.Generation;
using TextGen.Runtime.Model;
using TextGen.Runtime.Sampling;
using TextGen.Tests.Support;

namespace TextGen.Tests.Packaging;

/// <summary>
/// Issue #7 §5: the NuGet package a game installs. Packs TextGen.Runtime, then restores it from a local feed into a
/// netstandard2.1 library and a net10.0 console app (which gets the net8.0 asset: only the .NET 10 runtime is on our
/// machines) and runs the app on the shipped count123.tgm. A unique prerelease version keeps NuGet's global cache
/// from answering with a package packed by an earlier run.
/// </summary>
[Category("Slow")]
public sealed class RuntimePackageTests
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromMinutes(5);

    private string _work = "";
    private string _version = "";

    [SetUp]
    public void CreateWorkDirectory()
    {
        _version = $"0.0.0-test.{Guid.NewGuid():N}";
        _work = Path.Combine(Path.GetTempPath(), $"textgen-package-{_version}");
        Directory.CreateDirectory(_work);
    }

    [TearDown]
    public void DeleteWorkDirectoryAndCachedPackage()
    {
        Directory.Delete(_work, recursive: true);
        // The restore put this one-off version into the global packages folder; nothing will ever use it again.
        string cached = Path.Combine(Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"), "textgen.runtime", _version);
        if (Directory.Exists(cached)) Directory.Delete(cached, recursive: true);
    }

    [Test]
    public void PackageHoldsBothTargetsAndRunsInALibraryAndAnApp()
    {
        string feed = Path.Combine(_work, "feed");
        var pack = ChildProcess.RunDotnetBuild(new[] { "pack", Repository.PathOf("TextGen.Runtime", "TextGen.Runtime.csproj"), "-c", "Release", "-o", feed, $"-p:PackageVersion={_version}" }, _work, StepTimeout);
        Assert.That(pack.ExitCode, Is.EqualTo(0), pack.ToString());

        AssertPackageContents(Path.Combine(feed, $"TextGen.Runtime.{_version}.nupkg"));
        AssertSymbolPackageContents(Path.Combine(feed, $"TextGen.Runtime.{_version}.snupkg"));

        WriteConsumers(feed);
        var build = ChildProcess.RunDotnetBuild(new[] { "build", Path.Combine(_work, "App", "App.csproj"), "-c", "Release" }, _work, StepTimeout);
        Assert.That(build.ExitCode, Is.EqualTo(0), build.ToString());
        Assert.That(File.ReadAllText(Path.Combine(_work, "Lore", "obj", "project.assets.json")), Does.Contain("lib/netstandard2.1/TextGen.Runtime.dll"));
        Assert.That(File.ReadAllText(Path.Combine(_work, "App", "obj", "project.assets.json")), Does.Contain("lib/net8.0/TextGen.Runtime.dll"));

        string model = Path.Combine(AppContext.BaseDirectory, "artifacts", "count123.tgm");
        var run = ChildProcess.Run(ChildProcess.Dotnet, new[] { Path.Combine(_work, "App", "bin", "Release", "net10.0", "App.dll"), model }, _work, StepTimeout);
        Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
        string continuation = string.Concat(Enumerable.Repeat("1 2 3 ", 10)).Substring(2, 40);
        Assert.That(run.Output, Is.EqualTo($"library: {continuation}\napp: {continuation}\n"));
        Assert.That(continuation, Is.EqualTo(InProcess(model)), "the packaged runtime generates what the tested one does");
    }

    /// <summary>What the consumers generate, by the runtime under test: count123 continues "1 " at temperature 0.</summary>
    private static string InProcess(string model)
    {
        var generator = TextModel.Load(model).CreateGenerator(new GeneratorOptions { Sampling = new SamplingOptions { Temperature = 0 } });
        generator.Prime("1 ");
        return generator.GenerateString(40);
    }

    private void AssertPackageContents(string path)
    {
        using var package = ZipFile.OpenRead(path);
        var entries = package.Entries.Select(e => e.FullName).ToList();
        foreach (string target in new[] { "netstandard2.1", "net8.0" })
        {
            Assert.That(entries, Does.Contain($"lib/{target}/TextGen.Runtime.dll"));
            Assert.That(entries, Does.Contain($"lib/{target}/TextGen.Runtime.xml"), "the XML docs give IntelliSense in the game's IDE");
        }
        Assert.That(entries, Does.Contain("README.md").And.Contain("LICENSE"));

        using var stream = package.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
        XElement metadata = XDocument.Load(stream).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        string Field(string name) => metadata.Elements().Single(e => e.Name.LocalName == name).Value;
        Assert.That(Field("id"), Is.EqualTo("TextGen.Runtime"));
        Assert.That(Field("version"), Is.EqualTo(_version));
        Assert.That(Field("license"), Is.EqualTo("MIT"));
        Assert.That(Field("readme"), Is.EqualTo("README.md"));
        Assert.That(Field("authors"), Is.EqualTo("TextGen contributors"));
        Assert.That(Field("description"), Does.Contain("RNN, GRU, LSTM"));
        Assert.That(Field("tags"), Does.Contain("lstm"));
        var dependencyGroups = metadata.Descendants().Where(e => e.Name.LocalName == "group").ToList();
        Assert.That(dependencyGroups.Select(g => g.Attribute("targetFramework")!.Value), Is.EquivalentTo(new[] { ".NETStandard2.1", "net8.0" }));
        Assert.That(dependencyGroups.SelectMany(g => g.Elements()).Select(d => d.Attribute("id")!.Value).Distinct(), Is.EqualTo(new[] { "MessagePack" }), "MessagePack is the only dependency");
    }

    private static void AssertSymbolPackageContents(string path)
    {
        using var symbols = ZipFile.OpenRead(path);
        Assert.That(symbols.Entries.Select(e => e.FullName), Does.Contain("lib/netstandard2.1/TextGen.Runtime.pdb").And.Contain("lib/net8.0/TextGen.Runtime.pdb"));
    }

    /// <summary>
    /// A NuGet.config with the local feed and nuget.org (for MessagePack), a netstandard2.1 library using the package,
    /// and a net10.0 app using both. Outside the repository, so none of its build settings leak in.
    /// </summary>
    private void WriteConsumers(string feed)
    {
        File.WriteAllText(Path.Combine(_work, "NuGet.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" protocolVersion="3" />
              </packageSources>
            </configuration>
            """);
        Directory.CreateDirectory(Path.Combine(_work, "Lore"));
        File.WriteAllText(Path.Combine(_work, "Lore", "Lore.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>netstandard2.1</TargetFramework>
                <!-- netstandard2.1 defaults to C# 8, which cannot set the options' init-only properties; Unity 2021.2+ has C# 9. -->
                <LangVersion>9.0</LangVersion>
                <Nullable>enable</Nullable>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="TextGen.Runtime" Version="{_version}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(_work, "Lore", "CountingLore.cs"), """
            using TextGen.Runtime.Generation;
            using TextGen.Runtime.Model;
            using TextGen.Runtime.Sampling;

            namespace Lore
            {
                public static class CountingLore
                {
                    public static string Continue(string modelPath, string prime, int length)
                    {
                        var generator = TextModel.Load(modelPath).CreateGenerator(new GeneratorOptions { Sampling = new SamplingOptions { Temperature = 0 } });
                        generator.Prime(prime);
                        return generator.GenerateString(length);
                    }
                }
            }
            """);
        Directory.CreateDirectory(Path.Combine(_work, "App"));
        File.WriteAllText(Path.Combine(_work, "App", "App.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="TextGen.Runtime" Version="{_version}" />
                <ProjectReference Include="../Lore/Lore.csproj" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(_work, "App", "Program.cs"), """
            using TextGen.Runtime.Generation;
            using TextGen.Runtime.Model;
            using TextGen.Runtime.Sampling;

            Console.Out.NewLine = "\n";
            Console.WriteLine("library: " + Lore.CountingLore.Continue(args[0], "1 ", 40));
            var generator = TextModel.Load(args[0]).CreateGenerator(new GeneratorOptions { Sampling = new SamplingOptions { Temperature = 0 } });
            generator.Prime("1 ");
            Console.WriteLine("app: " + generator.GenerateString(40));
            """);
    }
}
