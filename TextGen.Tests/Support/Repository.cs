namespace TextGen.Tests.Support;

/// <summary>The source tree the tests run from, for the tests that read its docs or pack and publish its projects.</summary>
internal static class Repository
{
    /// <summary>The directory holding <c>TextGen.sln</c>, found upwards from the test binaries.</summary>
    public static string Root
    {
        get
        {
            for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "TextGen.sln"))) return directory.FullName;
            }
            throw new DirectoryNotFoundException("TextGen.sln not found above the test directory");
        }
    }

    /// <summary>A path below <see cref="Root"/>.</summary>
    public static string PathOf(params string[] parts) => Path.Combine(new[] { Root }.Concat(parts).ToArray());
}
