namespace TextGen.Demo;

/// <summary>The weight files in <c>artifacts/</c>, which the build copies beside the program.</summary>
internal static class ShippedModels
{
    /// <summary>The Shakespeare model the scene and <c>generate</c> use by default.</summary>
    public static string Shakespeare => PathOf("shakespeare.tgm");

    /// <summary>The count-to-3 model of the blog's first experiment.</summary>
    public static string Count123 => PathOf("count123.tgm");

    private static string PathOf(string fileName) => Path.Combine(AppContext.BaseDirectory, "artifacts", fileName);
}
