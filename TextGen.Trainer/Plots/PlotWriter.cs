using ScottPlot;
using TextGen.Runtime.Format;

namespace TextGen.Trainer.Plots;

/// <summary>
/// Saves plots as PNG files, atomically: the image goes to a hidden <c>.FILE.&lt;guid&gt;.tmp</c>, is flushed to disk and renamed over
/// <c>FILE</c>, so a kill at any moment leaves the previous PNG or the new one, never half of one. A missing picture
/// must never stop a training run: where SkiaSharp's native library (ScottPlot draws with it) cannot load, the first
/// save says so once and plotting stays off; a file that cannot be written is reported and skipped.
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
    /// <param name="note">Told when plotting turns off (once) and when the file cannot be written.</param>
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
            note($"plots are off: the native drawing library (SkiaSharp) cannot load here ({Innermost(e).Message}); no PNG files will be drawn");
            return false;
        }

        try
        {
            ModelFileStorage.WriteFileAtomically(path, png);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentOutOfRangeException)
        {
            // A full disk is an IOException, a file-size limit an ArgumentOutOfRangeException; either way the
            // previous picture stays as it was and the half-written one is gone.
            note($"{path}: cannot be written: {e.Message}");
            return false;
        }
    }

    // A type initializer's failure wraps the loader's, which is the one that names the missing library.
    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }
}
