using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace TextGen.Trainer.Data;

/// <summary>
/// A UTF-8 training text decoded to Unicode scalar values, with the identity (name, sha256) that a checkpoint
/// and an exported model record, so a resume can prove it reads the same text.
/// </summary>
internal sealed class Corpus
{
    private const int Utf8Bom = 0xFEFF;

    private Corpus(string path, int[] scalars, string sha256)
    {
        Path = path;
        Scalars = scalars;
        Sha256 = sha256;
    }

    /// <summary>The file as given on the command line.</summary>
    public string Path { get; }

    /// <summary>File name without directories, recorded in exported metadata.</summary>
    public string Name => System.IO.Path.GetFileName(Path);

    /// <summary>The text as Unicode scalar values, in order.</summary>
    public int[] Scalars { get; }

    /// <summary>Lower-case hex SHA-256 of the file's bytes.</summary>
    public string Sha256 { get; }

    /// <summary>Reads and validates a corpus file.</summary>
    /// <exception cref="CorpusException">The file is missing, a directory, unreadable, empty, binary or not UTF-8.</exception>
    public static Corpus Load(string path)
    {
        if (Directory.Exists(path)) throw new CorpusException(path, "is a directory, not a text file");
        if (!File.Exists(path)) throw new CorpusException(path, "no such file");
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CorpusException(path, $"cannot be read: {e.Message}", e);
        }
        return FromBytes(path, bytes);
    }

    private static Corpus FromBytes(string path, byte[] bytes)
    {
        if (bytes.Length == 0) throw new CorpusException(path, "is empty");
        // FF FE and FE FF never begin UTF-8, so a UTF-16 byte order mark is named as such, not as binary.
        if (bytes.Length >= 2 && (bytes[0], bytes[1]) is (0xFF, 0xFE) or (0xFE, 0xFF))
        {
            throw new CorpusException(path, "is UTF-16 (it starts with a UTF-16 byte order mark); save it as UTF-8");
        }

        // A NUL never occurs in text; checking it first also names UTF-16 files, which are full of them.
        int nul = Array.IndexOf(bytes, (byte)0);
        if (nul >= 0) throw new CorpusException(path, $"looks binary: NUL byte at byte offset {nul} (a text corpus must be UTF-8; convert UTF-16 files first)");

        var scalars = new List<int>(bytes.Length);
        ReadOnlySpan<byte> rest = bytes;
        while (!rest.IsEmpty)
        {
            if (Rune.DecodeFromUtf8(rest, out Rune rune, out int consumed) != OperationStatus.Done)
            {
                throw new CorpusException(path, $"is not valid UTF-8: invalid byte sequence at byte offset {bytes.Length - rest.Length}");
            }
            if (!(rune.Value == Utf8Bom && scalars.Count == 0 && rest.Length == bytes.Length)) scalars.Add(rune.Value);
            rest = rest[consumed..];
        }
        if (scalars.Count == 0) throw new CorpusException(path, "is empty (only a byte order mark)");
        return new Corpus(path, scalars.ToArray(), Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    /// <summary>The split rule shared by training and evaluation: the first part trains, the last <paramref name="validationFraction"/> validates.</summary>
    /// <returns>The number of leading scalars that form the training split.</returns>
    public static int TrainingLength(int totalLength, double validationFraction) =>
        (int)Math.Floor(totalLength * (1 - validationFraction));
}
