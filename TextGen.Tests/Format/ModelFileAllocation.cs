namespace TextGen.Tests.Format;

/// <summary>
/// The allocation bound docs/format.md promises for loading a file of N bytes from memory (<c>TextModel.Load(bytes)</c>,
/// which reads, validates and decodes): at most <see cref="BytesPerFileByte"/>·N + <see cref="FixedBytes"/>.
/// </summary>
internal static class ModelFileAllocation
{
    /// <summary>
    /// The worst structure per byte of file: a vocabulary of three-byte entries (an int and a duplicate-check
    /// table slot each, about 26 bytes per entry). Tensor data costs at most 6 per byte: the copy, the decoded floats
    /// and layer 0's input table (V·G·H floats, at most 4 times the V·H head).
    /// </summary>
    public const int BytesPerFileByte = 12;

    /// <summary>Room for what is bounded by a count rather than by size: the BMP lookup table (256 KiB), the metadata entries (at most 1024), the tensor specs and the message of a refusal.</summary>
    public const int FixedBytes = 1 << 20;

    public static long Budget(long fileBytes) => BytesPerFileByte * fileBytes + FixedBytes;
}
