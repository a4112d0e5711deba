using ScottPlot;

namespace TextGen.Trainer.Plots;

/// <summary>
/// Saves plots as PNG files, atomically: the image goes to <c>FILE.tmp</c>, is flushed to disk and renamed over
/// <c>FILE</c>, so a kill at any moment leaves the previous PNG or the new one, never half of one. ScottPlot draws
/// with SkiaSharp's native library; where that cannot load, the first save says so once and plotting stays off,
/// because a missing picture must never stop a training run.
/// </summary>
internal sealed class PlotWriter
{
    /// <summary>Whether plots are still drawn (false after the native library failed to load).</summary>
    public bool Enabled { get; private set; } = true;

    /// <summary>
    /// Draws the plot <paramref name="draw"/> builds and saves it as a <paramref name="width"/>×<paramref name="height"/>
    /// PNG at <paramref name="path"/>; returns false when plotting is off.
    /// </summary>
    /// <param name="path">The PNG file to write or replace.</param>
    /// <param name="width">Image width in pixels.</param>
    /// <param name="height">Image height in pixels.</param>
    /// <param name="draw">Builds the plot; called only while plotting works (building one already loads the native library).</param>
    /// <param name="note">Told once, when plotting turns off.</param>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public bool TrySave(string path, int width, int height, Func<Plot> draw, Action<string> note)
    {
        if (!Enabled) return false;
        byte[] png;
        try
        {
            using var plot = draw();
            png = plot.GetImageBytes(width, height, ImageFormat.Png);
        }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            Enabled = false;
            note($"plots are off: the native drawing library (SkiaSharp) cannot load here ({Innermost(e).Message}); training goes on without PNG files");
            return false;
        }

        string temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write))
        {
            stream.Write(png);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
        return true;
    }

    // A type initializer's failure wraps the loader's, which is the one that names the missing library.
    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }
}
