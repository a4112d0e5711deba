using System.CommandLine;
using System.CommandLine.Parsing;
using TextGen.Runtime.Format;

namespace TextGen.Benchmarks;

/// <summary>The option checks and conversions the measurement commands share, so each says the same thing the same way.</summary>
internal static class BenchmarkOptions
{
    /// <summary>The dtype names the commands accept, as the trainer's <c>export --dtype</c> writes them.</summary>
    public static readonly string[] DTypeNames = ["f32", "f16", "q8"];

    /// <summary>Most characters a measurement generates per round and engine: minutes of work, and memory to spare.</summary>
    public const int MaxChars = 10_000_000;

    /// <summary>Most rounds (or warm loads) of one measurement.</summary>
    public const int MaxRounds = 10_000;

    /// <summary>Most threads or sessions a measurement starts: far beyond any core count, short of exhausting memory.</summary>
    public const int MaxThreads = 1024;

    /// <summary>Adds a check that <paramref name="option"/> is at least 1 and at most <paramref name="max"/>, naming it.</summary>
    public static Option<int> AtLeastOne(this Option<int> option, int max)
    {
        option.Validators.Add(result =>
        {
            if (result.TryGetValue(out int value) && (value < 1 || value > max)) result.AddError($"{option.Name} must be 1 to {max} (got {value})");
        });
        return option;
    }

    /// <summary>Adds a check that <paramref name="option"/>, when given, is a dtype name of <see cref="DTypeNames"/>.</summary>
    public static Option<string> OneDTypeName(this Option<string> option)
    {
        option.Validators.Add(result =>
        {
            if (result.TryGetValue(out string? name) && name is not null && !IsDTypeName(name)) result.AddError($"{option.Name} must be f32, f16 or q8 (got \"{name}\")");
        });
        return option;
    }

    /// <summary>
    /// The option's value, for a validator; false when the text did not convert. The parser has already reported that
    /// text, and reading the value again would throw out of the validator and abort the process.
    /// </summary>
    public static bool TryGetValue<T>(this OptionResult result, out T value)
    {
        try
        {
            value = result.GetValueOrDefault<T>();
            return true;
        }
        catch (InvalidOperationException)
        {
            value = default!;
            return false;
        }
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
            if (result.TryGetValue(out int? value) && value is < 1 or > ModelArchitecture.MaxHiddenSize) result.AddError($"--hidden must be 1 to {ModelArchitecture.MaxHiddenSize}");
        });
        return hidden;
    }

    /// <summary>Adds to <paramref name="command"/> the check that exactly one of <paramref name="model"/> and <paramref name="hidden"/> is given.</summary>
    public static void RequireModelOrHidden(Command command, Option<string> model, Option<int?> hidden)
    {
        command.Validators.Add(result =>
        {
            // Whether each was given, not its value: a value that did not convert has its own error, and reading it would throw.
            if ((result.GetResult(model) is null) == (result.GetResult(hidden) is null)) result.AddError("give either --model FILE or --hidden N");
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
