using TextGen.Benchmarks.Models;
using TextGen.Runtime.Format;

namespace TextGen.Benchmarks.Suite;

/// <summary>
/// The models the BenchmarkDotNet suite runs on, by name: <c>shakespeare</c> is the shipped
/// <c>artifacts/shakespeare.tgm</c> (found upwards from the working directory, where <c>dotnet run</c> starts), and
/// <c>lstm-N</c> is issue 5's random 2-layer LSTM with hidden N, embedding 64 and vocabulary 65, built in memory.
/// </summary>
internal static class SuiteModels
{
    /// <summary>The model called <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">Not a model name of the suite.</exception>
    /// <exception cref="FileNotFoundException">The shipped model is not above the working directory.</exception>
    public static ModelFile Load(string name)
    {
        if (name == "shakespeare") return ModelFile.ReadFile(ShippedModelPath());
        if (name.StartsWith("lstm-", StringComparison.Ordinal) && int.TryParse(name.AsSpan(5), out int hidden) && hidden > 0)
        {
            return RandomModels.ComparisonLstm(hidden);
        }
        throw new ArgumentException($"unknown suite model \"{name}\": use shakespeare or lstm-N", nameof(name));
    }

    private static string ShippedModelPath()
    {
        for (var directory = new DirectoryInfo(Directory.GetCurrentDirectory()); directory is not null; directory = directory.Parent)
        {
            string path = Path.Combine(directory.FullName, "artifacts", "shakespeare.tgm");
            if (File.Exists(path)) return path;
        }
        throw new FileNotFoundException($"artifacts/shakespeare.tgm is not in {Directory.GetCurrentDirectory()} or above it; run the suite from the repository");
    }
}
