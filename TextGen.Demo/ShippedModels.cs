namespace TextGen.Demo;

/// <summary>The weight files in <c>artifacts/</c>, which the build copies beside the program.</summary>
internal static class ShippedModels
{
    /// <summary>The Shakespeare model the scene and <c>generate</c> use by default.</summary>
    public static string Shakespeare => PathOf("shakespeare.tgm");

    private static string PathOf(string fileName) => Path.Combine(AppContext.BaseDirectory, "artifacts", fileName);
}
