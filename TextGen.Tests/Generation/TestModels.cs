using TextGen.Runtime.Format;
using TextGen.Runtime.Generation;
using TextGen.Runtime.Model;
using TextGen.Tests.Support;

namespace TextGen.Tests.Generation;

/// <summary>Random-weight models for generation tests; weights scaled up so the text is not uniform noise.</summary>
internal static class TestModels
{
    public static TextModel Create(CellKind cell = CellKind.Lstm, int layers = 2, int hidden = 24, int embedding = 8, int vocab = 30, int seed = 1)
        => TextModel.FromFile(RandomModels.Create(RandomModels.Architecture(cell, layers, hidden, embedding, vocab), seed, scale: 0.8f));

    /// <summary>A model whose vocabulary holds characters outside the BMP.</summary>
    public static TextModel WithEmoji()
        => TextModel.FromFile(RandomModels.Create(new ModelArchitecture(CellKind.Gru, 1, 16, 4, new[] { 'a', 'b', ' ', 0x1F600, 0x1F642, 0x10348 }), 3, scale: 0.8f));

    /// <summary>All chars until the generator finishes or <paramref name="limit"/> chars, through <see cref="TextGenerator.NextChar"/>.</summary>
    public static string Read(TextGenerator generator, int limit = 10_000)
    {
        var text = new System.Text.StringBuilder();
        int unit;
        while (text.Length < limit && (unit = generator.NextChar()) >= 0) text.Append((char)unit);
        return text.ToString();
    }
}
