using System.CommandLine;
using TextGen.CommandLine;
using TextGen.Demo.Scene;
using TextGen.Runtime.Format;
using TextGen.Runtime.Generation;
using TextGen.Runtime.Model;

namespace TextGen.Demo;

/// <summary>
/// The demo's command line. With no arguments it plays the street scene; <c>generate</c> prints generated text
/// for scripts; <c>--interactive</c> continues primes typed at a prompt. Exit codes: 0 ok, 1 failure (missing
/// or corrupt model file), 2 usage error (bad option value, prime characters the model does not know).
/// </summary>
internal static class DemoCommandLine
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int Usage = 2;

    /// <summary>Parses <paramref name="args"/> and runs the command.</summary>
    public static int Run(string[] args, TextReader input, TextWriter output, TextWriter error)
    {
        // One set of generation options, given before or after `generate` alike: the root shares them with it.
        var scene = new GenerationOptionSet();
        var interactive = new Option<bool>("--interactive") { Description = "Type a prime, get a continuation, repeat (until end of input)" };
        var duration = new Option<double>("--duration") { Description = "Longest the scene may run, in seconds", HelpName = "SECONDS", DefaultValueFactory = _ => 15 };
        var budget = new Option<double>("--budget-ms") { Description = "Model time allowed per 60 fps frame, in milliseconds", HelpName = "MS", DefaultValueFactory = _ => 4 };
        var root = new RootCommand("TextGen demo: NPCs speak generated lines in a game-like scene, or generate text for scripts.")
        {
            interactive, duration, budget, GenerateCommand(scene, output, interactive, duration, budget),
        };
        scene.AddTo(root);
        root.SetAction(parse =>
        {
            // Checked even for the scene, which ignores them: a nonsense value is a mistake worth naming, not skipping.
            var settings = scene.Build(parse);
            if (parse.GetValue(interactive)) return Interactive(settings, Load(parse.GetRequiredValue(scene.Model)), input, output);
            double seconds = parse.GetValue(duration), ms = parse.GetValue(budget);
            if (!(seconds > 0 && seconds <= 3600)) throw new UsageException($"--duration must be between 0 and 3600 seconds, not {seconds}");
            if (!(ms > 0 && ms < 1000 / StreetScene.FramesPerSecond)) throw new UsageException($"--budget-ms must be above 0 and below a frame ({1000 / StreetScene.FramesPerSecond:F1} ms), not {ms}");
            return PlayScene(Load(parse.GetRequiredValue(scene.Model)), TimeSpan.FromSeconds(seconds), TimeSpan.FromMilliseconds(ms), output);
        });

        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            error.WriteLine(string.Join(" ", parsed.Errors.Select(e => ParseErrorText.Describe(e).TrimEnd('.') + ".")) + " Run with --help for usage.");
            return Usage;
        }
        try
        {
            return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (UsageException e)
        {
            error.WriteLine(e.Message);
            return Usage;
        }
        catch (ModelFormatException e)
        {
            error.WriteLine(e.Message);
            return Failure;
        }
        catch (IOException e)
        {
            error.WriteLine(e.Message);
            return Failure;
        }
    }

    private static Command GenerateCommand(GenerationOptionSet options, TextWriter output, params Option[] sceneOnly)
    {
        var prime = new Option<string>("--prime") { Description = "Text the model continues [default: a line break, if the model knows it; else nothing]", HelpName = "TEXT" };
        var command = new Command("generate", "Print only the generated text. The same arguments always give the same text.") { prime };
        command.SetAction(parse =>
        {
            // Given before `generate` these would parse, and be silently ignored: name the mistake instead.
            Option? misplaced = sceneOnly.FirstOrDefault(option => parse.GetResult(option) is { Implicit: false });
            if (misplaced is not null) throw new UsageException($"{misplaced.Name} is an option of the scene, not of generate");
            var settings = options.Build(parse);
            string modelPath = parse.GetRequiredValue(options.Model);
            var model = Load(modelPath);
            var generator = model.CreateGenerator(settings);
            Prime(generator, parse.GetValue(prime) ?? DefaultPrime(model), modelPath);
            WriteAll(generator, output);
            output.Flush();
            return Ok;
        });
        return command;
    }

    // A line break starts a speech in the shipped Shakespeare model; a model without one (count123) starts from nothing.
    private static string DefaultPrime(TextModel model) => model.TryGetTokenId('\n', out _) ? "\n" : string.Empty;

    private static int PlayScene(TextModel model, TimeSpan duration, TimeSpan budget, TextWriter output)
    {
        bool terminal = !Console.IsOutputRedirected && ReferenceEquals(output, Console.Out);
        output.WriteLine($"A street in Verona. {model.Architecture.Cell.ToString().ToUpperInvariant()} model, {model.Architecture.ParameterCount():N0} parameters; every NPC has its own generator.");
        output.WriteLine();
        var stats = new StreetScene(model, output, terminal).Play(duration, budget);
        output.WriteLine("-- scene over --");
        foreach (string line in stats.Describe()) output.WriteLine(line);
        return Ok;
    }

    private static int Interactive(GeneratorOptions settings, TextModel model, TextReader input, TextWriter output)
    {
        var generator = model.CreateGenerator(settings);
        // A terminal already shows what was typed; piped input is shown, so the output reads as prime + continuation.
        bool echo = !ReferenceEquals(input, Console.In) || Console.IsInputRedirected;
        output.WriteLine("Type a prime and press Enter; end of input (Ctrl+D) quits.");
        while (true)
        {
            output.Write("prime> ");
            output.Flush();
            string? line = input.ReadLine();
            if (line is null) break;
            // Each prime starts from a fresh state, so the same prime and seed give the same continuation.
            generator.Reset();
            try
            {
                generator.Prime(line);
            }
            catch (UnknownCharacterException e)
            {
                output.WriteLine(e.Message);
                continue;
            }
            if (echo) output.Write(line);
            WriteAll(generator, output);
            output.WriteLine();
        }
        output.WriteLine();
        return Ok;
    }

    private static void Prime(TextGenerator generator, string prime, string modelPath)
    {
        try
        {
            generator.Prime(prime);
        }
        catch (UnknownCharacterException e)
        {
            throw new UsageException($"--prime: {e.Message} ({modelPath})");
        }
    }

    private static void WriteAll(TextGenerator generator, TextWriter output)
    {
        Span<char> buffer = stackalloc char[256];
        int count;
        while ((count = generator.Generate(buffer)) > 0) output.Write(buffer[..count]);
    }

    private static TextModel Load(string path) => TextModel.Load(path);
}

/// <summary>A command line that cannot work as given; exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
