namespace TextGen.Tests.Support;

/// <summary>File-system set-ups the tests share.</summary>
internal static class Directories
{
    /// <summary>Copies the files directly in <paramref name="from"/> (a checkpoint's) into <paramref name="to"/>, created.</summary>
    public static void CopyFiles(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
    }
}
