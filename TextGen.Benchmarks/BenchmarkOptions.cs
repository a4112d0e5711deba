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

    /// <summary>Adds a check that <paramref name="option"/>, when given, is a dtype name of <see cref="DTypeNames"/>.</summary>
    public static Option<string> OneDTypeName(this Option<string> option)
    {
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is string name && !IsDTypeName(name)) result.AddError($"{option.Name} must be f32, f16 or q8 (got \"{name}\")");
        });
        return option;
    }

    /// <summary>
    /// The <c>--hidden</c> option of the commands that measure either a weight file (<c>--model</c>) or a random
    /// model built in memory, checked to the architecture's range.
    /// </summary>
    public static Option<int?> RandomModelHidden()
    {
        var hidden = new Option<int?>("--hidden") { Description = "Instead of --model: a random 2-layer LSTM (embedding 64, vocabulary 65) with this many hidden units, built in memory" };
        hidden.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is < 1 or > ModelArchitecture.MaxHiddenSize) result.AddError($"--hidden must be 1 to {ModelArchitecture.MaxHiddenSize}");
        });
        return hidden;
    }

    /// <summary>Adds to <paramref name="command"/> the check that exactly one of <paramref name="model"/> and <paramref name="hidden"/> is given.</summary>
    public static void RequireModelOrHidden(Command command, Option<string> model, Option<int?> hidden)
    {
        command.Validators.Add(result =>
        {
            if ((result.GetValue(model) is null) == (result.GetValue(hidden) is null)) result.AddError("give either --model FILE or --hidden N");
        });
    }

    /// <summary>True for a dtype name of <see cref="DTypeNames"/>.</summary>
    public static bool IsDTypeName(string name) => DTypeNames.Contains(name);

    /// <summary>The dtype a name of <see cref="DTypeNames"/> stands for.</summary>
    public static TensorDType ParseDType(string name) => Enum.Parse<TensorDType>(name, ignoreCase: true);

    /// <summary>The name of the dtype <paramref name="file"/>'s matrices are stored in.</summary>
    public static string DTypeNameOf(ModelFile file) => ModelFileSchema.DTypeName(file.MatrixDType);

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
