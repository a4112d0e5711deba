using System.CommandLine;
using TextGen.Runtime.Generation;
using TextGen.Runtime.Sampling;

namespace TextGen.Demo;

/// <summary>The options that shape generated text, shared by the root command (<c>--interactive</c>) and <c>generate</c>.</summary>
internal sealed class GenerationOptionSet
{
    public Option<string> Model { get; } = new("--model") { Description = "Weight file (*.tgm)", HelpName = "FILE", DefaultValueFactory = _ => ShippedModels.Shakespeare };
    public Option<int> Length { get; } = new("--length") { Description = "Characters to generate", HelpName = "N", DefaultValueFactory = _ => 300 };
    public Option<double> Temperature { get; } = new("--temperature") { Description = "Sampling temperature; 0 always takes the likeliest character", HelpName = "T", DefaultValueFactory = _ => 0.8 };
    public Option<int> TopK { get; } = new("--top-k") { Description = "Sample among the K likeliest characters; 0 = all", HelpName = "K" };
    public Option<double> TopP { get; } = new("--top-p") { Description = "Sample among the likeliest characters holding probability P", HelpName = "P", DefaultValueFactory = _ => 1.0 };
    public Option<ulong> Seed { get; } = new("--seed") { Description = "Random seed: the same arguments give the same text", HelpName = "S" };
    public Option<string[]> Stop { get; } = new("--stop") { Description = "End the text where this string would appear (repeatable; taken literally, so a line break in bash is $'\\n')", HelpName = "STR" };
    public Option<bool> Strict { get; } = new("--strict") { Description = "Strict determinism: identical text on every CPU and target, a little slower" };

    /// <summary>Adds every option to <paramref name="command"/> and, recursively, to its subcommands.</summary>
    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Model, Length, Temperature, TopK, TopP, Seed, Stop, Strict })
        {
            option.Recursive = true;
            command.Options.Add(option);
        }
    }

    /// <summary>The generator options the parsed values ask for.</summary>
    /// <exception cref="UsageException">A value is out of range; the message names the option.</exception>
    public GeneratorOptions Build(ParseResult parse)
    {
        int length = parse.GetValue(Length);
        if (length < 0) throw new UsageException($"--length must be ≥ 0, not {length}");
        try
        {
            return new GeneratorOptions
            {
                Seed = parse.GetValue(Seed),
                MaxLength = length,
                StopStrings = parse.GetValue(Stop) ?? Array.Empty<string>(),
                StrictDeterminism = parse.GetValue(Strict),
                Sampling = new SamplingOptions
                {
                    Temperature = parse.GetValue(Temperature),
                    TopK = parse.GetValue(TopK),
                    TopP = parse.GetValue(TopP),
                },
            };
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"{OptionName(e.ParamName)}: {e.Message.Split(" (Parameter")[0]}");
        }
    }

    // GeneratorOptions and SamplingOptions name the property that refused a value; the user typed the option.
    private static string OptionName(string? property) => property switch
    {
        nameof(SamplingOptions.Temperature) => "--temperature",
        nameof(SamplingOptions.TopK) => "--top-k",
        nameof(SamplingOptions.TopP) => "--top-p",
        nameof(GeneratorOptions.StopStrings) => "--stop",
        nameof(GeneratorOptions.MaxLength) => "--length",
        _ => "option",
    };
}
