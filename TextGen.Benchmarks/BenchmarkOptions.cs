using System.CommandLine;
using TextGen.Runtime.Format;

namespace TextGen.Benchmarks;

/// <summary>The option checks and conversions the measurement commands share, so each says the same thing the same way.</summary>
internal static class BenchmarkOptions
{
    /// <summary>The dtype names the commands accept, as the trainer's <c>export --dtype</c> writes them.</summary>
    public static readonly string[] DTypeNames = ["f32", "f16", "q8"];

    /// <summary>Adds a check that <paramref name="option"/> is at least 1, naming it.</summary>
    public static Option<int> AtLeastOne(this Option<int> option)
    {
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 1) result.AddError($"{option.Name} must be at least 1");
        });
        return option;
    }

    /// <summary>True for a dtype name of <see cref="DTypeNames"/>.</summary>
    public static bool IsDTypeName(string name) => DTypeNames.Contains(name);

    /// <summary>The dtype a name of <see cref="DTypeNames"/> stands for.</summary>
    public static TensorDType ParseDType(string name) => Enum.Parse<TensorDType>(name, ignoreCase: true);

    /// <summary>The name of the dtype <paramref name="file"/>'s matrices are stored in.</summary>
    public static string DTypeNameOf(ModelFile file) => file.Tensors.First(t => t.Shape.Count == 2).DType.ToString().ToLowerInvariant();

    /// <summary>Reads the weight file at <paramref name="path"/>; a bad or missing file is reported on <paramref name="error"/> by name, not thrown.</summary>
    public static bool TryReadModel(string path, TextWriter error, out ModelFile file)
    {
        try
        {
            file = ModelFile.ReadFile(path);
            return true;
        }
        catch (ModelFormatException e)
        {
            error.WriteLine(e.Message);
            file = null!;
            return false;
        }
    }
}
