using System.Buffers.Binary;
using TextGen.Runtime.Format;

namespace TextGen.Tests.Trainer;

/// <summary>Reads what a test needs to call a file a real PNG: the signature and the IHDR chunk's size.</summary>
internal static class PngImage
{
    private static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Asserts that <paramref name="path"/> starts like a PNG with a positive size; returns the size.</summary>
    public static (int Width, int Height) AssertValid(string path)
    {
        Assert.That(File.Exists(path), Is.True, $"{path} exists");
        var bytes = File.ReadAllBytes(path);
        Assert.That(bytes, Has.Length.GreaterThan(33), "signature, IHDR and more");
        int width = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16));
        int height = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(bytes[..8], Is.EqualTo(Signature), "PNG signature");
            Assert.That(BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(8)), Is.EqualTo(13), "IHDR length");
            Assert.That(System.Text.Encoding.ASCII.GetString(bytes, 12, 4), Is.EqualTo("IHDR"));
            Assert.That(width, Is.GreaterThan(0));
            Assert.That(height, Is.GreaterThan(0));
            Assert.That(ModelFileStorage.TemporariesOf(path), Is.Empty, "no temporary file left behind");
        }
        return (width, height);
    }
}
