using TextGen.Runtime.Format;
using TextGen.Runtime.Model;

namespace TextGen.Tests.Format;

/// <summary>Assertions about how the reader treats a file.</summary>
internal static class ModelFileAssert
{
    public const string Source = "assets/test.tgm";

    /// <summary>Reads <paramref name="bytes"/>, which must be refused with a message holding every fragment.</summary>
    public static ModelFormatException Refuses(byte[] bytes, params string[] fragments)
    {
        var e = Assert.Throws<ModelFormatException>(() => ModelFile.Read(bytes, Source))!;
        Assert.That(e.FileName, Is.EqualTo(Source));
        Assert.That(e.Message, Does.StartWith(Source + ": "));
        foreach (string fragment in fragments) Assert.That(e.Message, Does.Contain(fragment));

        // A model load reads the same file on its one-pass path (f32 checked as it is copied): the same refusal.
        var load = Assert.Throws<ModelFormatException>(() => TextModel.Load(bytes, Source))!;
        Assert.That(load.Message, Is.EqualTo(e.Message));
        Assert.That(load.ByteOffset, Is.EqualTo(e.ByteOffset));
        return e;
    }

    /// <summary>Null when reading <paramref name="bytes"/> ends in a <see cref="ModelFormatException"/>; otherwise what happened instead.</summary>
    public static string? OutcomeOtherThanRefusal(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            ModelFile.Read(bytes, Source);
            return "loaded without error";
        }
        catch (ModelFormatException)
        {
            return null;
        }
        catch (Exception e)
        {
            return $"{e.GetType().Name}: {e.Message}";
        }
    }

    /// <summary>Offset of the first occurrence of <paramref name="needle"/>.</summary>
    public static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= haystack.Length; i++)
        {
            if (haystack.AsSpan(i, needle.Length).SequenceEqual(needle)) return i;
        }
        throw new InvalidOperationException("needle not found");
    }
}
