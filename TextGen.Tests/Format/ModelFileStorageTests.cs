using System.Runtime.InteropServices;
using TextGen.Runtime.Format;
using TextGen.Runtime.Model;
using TextGen.Tests.Support;

namespace TextGen.Tests.Format;

/// <summary>Loading from paths and streams that fail, and writes that must not lose the previous file.</summary>
public sealed class ModelFileStorageTests
{
    private string _directory = "";

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("tgm-storage-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    private static ModelFile Model(int seed = 1) => RandomModels.Create(RandomModels.Architecture(CellKind.Lstm), seed);

    [Test]
    public void MissingFileIsNamed()
    {
        string path = Path.Combine(_directory, "absent.tgm");

        var e = Assert.Throws<ModelFormatException>(() => ModelFile.ReadFile(path))!;

        Assert.That(e.Message, Is.EqualTo($"{path}: the file does not exist"));
        Assert.That(e.InnerException, Is.InstanceOf<FileNotFoundException>());
    }

    [Test]
    public void MissingDirectoryIsNamed()
    {
        string path = Path.Combine(_directory, "no-such-dir", "model.tgm");

        var e = Assert.Throws<ModelFormatException>(() => ModelFile.ReadFile(path))!;

        Assert.That(e.Message, Is.EqualTo($"{path}: the directory does not exist"));
    }

    [Test]
    public void DirectoryPathIsRefused()
    {
        var e = Assert.Throws<ModelFormatException>(() => ModelFile.ReadFile(_directory))!;

        Assert.That(e.Message, Is.EqualTo($"{_directory}: the path is a directory, not a model file"));
    }

    [Test]
    public void EmptyPathIsRefused()
    {
        var e = Assert.Throws<ModelFormatException>(() => ModelFile.ReadFile(""))!;

        Assert.That(e.Message, Is.EqualTo("(empty path): no model file was named: the path is an empty string"));
    }

    [Test]
    public void EmptyFileIsRefusedBeforeItIsOpened()
    {
        string path = Path.Combine(_directory, "empty.tgm");
        File.WriteAllBytes(path, []);

        var e = Assert.Throws<ModelFormatException>(() => TextModel.Load(path))!;

        Assert.That(e.Message, Is.EqualTo($"{path}: the file's size is 0 bytes: it is empty, or a pipe or device, not a model file"));
    }

    /// <summary>
    /// Files that are not regular files show a size of 0. Opening a FIFO blocks until a writer comes, so without the
    /// size check the load hangs; each must fail at once instead, with the same message as an empty file.
    /// </summary>
    [TestCase("fifo")]
    [TestCase("/dev/zero")]
    [TestCase("/dev/urandom")]
    [TestCase("/proc/self/status")]
    public void PipesAndDevicesAreRefusedWithoutWaiting(string kind)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("the pipes and devices are Linux paths");
        string path = kind == "fifo" ? Fifo(Path.Combine(_directory, "model.tgm")) : kind;

        var load = Task.Run(() => TextModel.Load(path));
        bool ended = Ends(load) || Unblock(path, load);

        Assert.That(ended, Is.True, "the load was still waiting after 30 s");
        var e = (ModelFormatException)load.Exception!.InnerException!;
        Assert.That(e.Message, Is.EqualTo($"{path}: the file's size is 0 bytes: it is empty, or a pipe or device, not a model file"));
    }

    private static string Fifo(string path)
    {
        if (MakeFifo(path, Convert.ToUInt32("600", 8)) != 0) throw new IOException($"mkfifo {path} failed: errno {Marshal.GetLastPInvokeError()}");
        return path;
    }

    // A load blocked opening a FIFO ends once a writer opens it; then the test fails on its result, not by hanging.
    private static bool Unblock(string path, Task load)
    {
        if (File.Exists(path)) File.WriteAllBytes(path, []);
        Ends(load);
        return false;
    }

    private static bool Ends(Task task) => Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(30))).Result == task;

    [DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int MakeFifo(string path, uint mode);

    [Test]
    public void MalformedFileOnDiskIsNamedByItsPath()
    {
        string path = Path.Combine(_directory, "broken.tgm");
        byte[] bytes = Model().ToBytes();
        File.WriteAllBytes(path, bytes[..^1]);

        var e = Assert.Throws<ModelFormatException>(() => ModelFile.ReadFile(path))!;

        Assert.That(e.FileName, Is.EqualTo(path));
        Assert.That(e.Message, Does.Contain("truncated"));
    }

    [Test]
    public void FailingStreamIsReported()
    {
        using var stream = new FailingStream();

        var e = Assert.Throws<ModelFormatException>(() => ModelFile.Read(stream, "pack://models/a"))!;

        Assert.That(e.Message, Is.EqualTo("pack://models/a: cannot read the stream: the disk went away"));
    }

    [Test]
    public void DisposedAndWriteOnlyStreamsAreReported()
    {
        var disposed = new MemoryStream(Model().ToBytes());
        disposed.Dispose();
        Assert.That(() => ModelFile.Read(disposed, "disposed"), Throws.TypeOf<ModelFormatException>().With.Message.StartsWith("disposed: "));

        using var writeOnly = new FileStream(Path.Combine(_directory, "w"), FileMode.Create, FileAccess.Write);
        Assert.That(() => ModelFile.Read(writeOnly, "write-only"), Throws.TypeOf<ModelFormatException>().With.Message.EqualTo("write-only: the stream is not readable"));
    }

    [Test]
    public void SeekableStreamAnnouncingMoreThanTheLimitIsRefusedWithoutReading()
    {
        using var stream = new HugeSeekableStream(ModelFile.MaxFileBytes + 1L);

        var e = Assert.Throws<ModelFormatException>(() => ModelFile.Read(stream, "huge"))!;

        Assert.That(e.Message, Does.Contain($"larger than the {ModelFile.MaxFileBytes}-byte limit"));
        Assert.That(stream.BytesRead, Is.Zero);
    }

    [Test]
    public void EndlessStreamIsCutOffAtTheLimit()
    {
        const int limit = 300_000;
        using var stream = new EndlessStream();

        var e = Assert.Throws<ModelFormatException>(() => ModelFileStorage.ReadStream(stream, "endless", limit))!;

        Assert.That(e.Message, Does.Contain($"larger than the {limit}-byte limit"));
        Assert.That(stream.BytesRead, Is.EqualTo(limit + 1), "reading stops one byte past the limit");
    }

    [Test]
    public void WritingOverADirectoryFailsAndLeavesItIntact()
    {
        string target = Path.Combine(_directory, "model.tgm");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "keep.txt"), "precious");

        Assert.That(() => Model().WriteFile(target), Throws.InstanceOf<IOException>().Or.InstanceOf<UnauthorizedAccessException>());

        Assert.That(File.ReadAllText(Path.Combine(target, "keep.txt")), Is.EqualTo("precious"));
        Assert.That(Directory.GetFileSystemEntries(_directory), Is.EqualTo(new[] { target }), "the temporary file is deleted");
    }

    [Test]
    public void WritingIntoAMissingDirectoryFailsWithoutCreatingAnything()
    {
        string target = Path.Combine(_directory, "missing", "model.tgm");

        Assert.That(() => Model().WriteFile(target), Throws.InstanceOf<DirectoryNotFoundException>());

        Assert.That(Directory.GetFileSystemEntries(_directory), Is.Empty);
    }

    [Test]
    public void ReplacingAFileLeavesOpenReadersOnTheOldBytes()
    {
        string target = Path.Combine(_directory, "model.tgm");
        Model(seed: 1).WriteFile(target);
        byte[] before = File.ReadAllBytes(target);

        using var reader = new FileStream(target, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        Model(seed: 2).WriteFile(target);

        // The rename swaps whole files: the open handle still sees every old byte, and the path the new ones.
        Assert.That(ModelFile.Read(reader, target).ToBytes(), Is.EqualTo(before));
        Assert.That(ModelFile.ReadFile(target).TensorSha256, Is.EqualTo(Model(seed: 2).TensorSha256));
        Assert.That(Directory.GetFiles(_directory), Is.EqualTo(new[] { target }));
    }

    [Test]
    public void OnlyTheHiddenGuidNamedFilesOfATargetAreItsTemporaries()
    {
        string target = Path.Combine(_directory, "model.tgm");
        // What a write killed before its rename leaves: the hidden name WriteFileAtomically gives its temporary.
        string[] abandoned = [Path.Combine(_directory, $".model.tgm.{Guid.NewGuid():N}.tmp"), Path.Combine(_directory, $".model.tgm.{Guid.NewGuid():N}.tmp")];
        string[] others =
        [
            "model.tgm.tmp", ".model.tgm.tmp", ".model.tgm.notes.tmp", $".model.tgm.{new string('g', 32)}.tmp", $".model.tgm.{Guid.NewGuid():N}.tmp.bak",
            $".model.tgm.{Guid.NewGuid().ToString("N").ToUpperInvariant()}.tmp", $".model.tgm.{Guid.NewGuid():N}0.tmp",
            $".other.tgm.{Guid.NewGuid():N}.tmp", $"model.tgm.{Guid.NewGuid():N}.tmp",
        ];
        foreach (string file in abandoned.Concat(others.Select(name => Path.Combine(_directory, name)))) File.WriteAllText(file, "half a model");
        Model(seed: 1).WriteFile(target);

        Assert.That(ModelFileStorage.TemporariesOf(target), Is.EquivalentTo(abandoned));
        ModelFileStorage.DeleteAbandonedTemporaries(target);

        Assert.That(Directory.GetFiles(_directory).Select(Path.GetFileName), Is.EquivalentTo(others.Append("model.tgm")), "only the abandoned temporaries are deleted");
        Assert.That(ModelFileStorage.TemporariesOf(target), Is.Empty);
        Assert.That(ModelFileStorage.TemporariesOf(Path.Combine(_directory, "missing", "model.tgm")), Is.Empty, "a missing directory holds none");
    }

    [Test]
    public void WriteToAFailingStreamReportsTheIOError()
    {
        Assert.That(() => Model().Write(new FailingStream()), Throws.InstanceOf<IOException>().With.Message.EqualTo("the disk is full"));
    }

    /// <summary>A stream whose device has failed.</summary>
    private sealed class FailingStream : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new IOException("the disk went away");
        public override void Write(byte[] buffer, int offset, int count) => throw new IOException("the disk is full");
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    /// <summary>A seekable stream that claims a length it never has to deliver.</summary>
    private sealed class HugeSeekableStream(long length) : Stream
    {
        public long BytesRead { get; private set; }
        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get; set; }

        public override int Read(byte[] buffer, int offset, int count)
        {
            BytesRead += count;
            return count;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>A non-seekable stream that never ends, like a hostile network peer.</summary>
    private sealed class EndlessStream : ForwardOnlyStream
    {
        public long BytesRead { get; private set; }

        public override int Read(byte[] buffer, int offset, int count)
        {
            buffer.AsSpan(offset, count).Fill(0x91);
            BytesRead += count;
            return count;
        }
    }
}
