using System.CommandLine;
using System.Globalization;
using System.Text;
using TextGen.Runtime.Generation;
using TextGen.Runtime.Model;
using TextGen.Runtime.Sampling;

namespace TextGen.Benchmarks;

/// <summary>
/// Sample quality as the Ship issue defines it: the share of generated words that occur in the training corpus,
/// over several samples, with words lowercased, punctuation stripped and split on whitespace. The last line of
/// output is JSON: <c>{"known_word_fraction":…,"words":…,"known_words":…}</c>.
/// </summary>
internal static class SampleWords
{
    /// <summary>The <c>sample-words</c> command.</summary>
    public static Command Command()
    {
        var model = new Option<string>("--model") { Description = "Weight file", Required = true };
        var corpus = new Option<string>("--corpus") { Description = "The text the model was trained on", Required = true };
        var samples = new Option<int>("--samples") { DefaultValueFactory = _ => 10 };
        var length = new Option<int>("--length") { Description = "Characters per sample", DefaultValueFactory = _ => 300 };
        var temperature = new Option<double>("--temperature") { DefaultValueFactory = _ => 0.8 };
        var prime = new Option<string>("--prime") { Description = "Text each sample continues [default: a line break, if the model knows it; else nothing]" };
        samples.AtLeastOne(BenchmarkOptions.MaxRounds);
        length.AtLeastOne(BenchmarkOptions.MaxChars);
        temperature.Validators.Add(result =>
        {
            if (result.TryGetValue(out double value) && !(value >= 0 && double.IsFinite(value))) result.AddError($"--temperature must be a finite number of at least 0 (got {value})");
        });
        var command = new Command("sample-words", "Share of generated words that occur in the corpus") { model, corpus, samples, length, temperature, prime };
        command.SetAction(parse => Measure(
            parse.InvocationConfiguration.Error, parse.GetRequiredValue(model), parse.GetRequiredValue(corpus), parse.GetValue(samples), parse.GetValue(length),
            parse.GetValue(temperature), parse.GetValue(prime)));
        return command;
    }

    private static int Measure(TextWriter error, string modelPath, string corpusPath, int samples, int length, double temperature, string? prime)
    {
        if (!BenchmarkOptions.TryReadModel(modelPath, error, out var file)) return 1;
        var model = TextModel.FromFile(file);
        prime ??= model.TryGetTokenId('\n', out _) ? "\n" : string.Empty;
        var vocabulary = new HashSet<string>(Words(File.ReadAllText(corpusPath)), StringComparer.Ordinal);
        int words = 0, known = 0;
        for (int seed = 1; seed <= samples; seed++)
        {
            var generator = model.CreateGenerator(new GeneratorOptions
            {
                Seed = (ulong)seed,
                MaxLength = length,
                Sampling = new SamplingOptions { Temperature = temperature },
            });
            try
            {
                generator.Prime(prime);
            }
            catch (UnknownCharacterException e)
            {
                error.WriteLine($"--prime: {e.Message} ({modelPath})");
                return 1;
            }
            string text = generator.GenerateString(2 * length);
            Console.WriteLine($"--- sample {seed} ---");
            Console.WriteLine(text);
            foreach (string word in Words(text))
            {
                words++;
                if (vocabulary.Contains(word)) known++;
            }
        }
        double fraction = words == 0 ? 0 : (double)known / words;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{{\"known_word_fraction\":{fraction:F4},\"words\":{words},\"known_words\":{known}}}"));
        return 0;
    }

    // Lowercased, split on whitespace, punctuation stripped; a token of punctuation alone is no word.
    private static IEnumerable<string> Words(string text)
    {
        foreach (string token in text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            var word = new StringBuilder(token.Length);
            foreach (char c in token.ToLowerInvariant())
            {
                if (!char.IsPunctuation(c) && !char.IsSymbol(c)) word.Append(c);
            }
            if (word.Length > 0) yield return word.ToString();
        }
    }
}
