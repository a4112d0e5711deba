using TextGen.Tests.Support;

namespace TextGen.Tests.Trainer;

/// <summary>
/// A small tmpfs mounted for one test, so a full disk (ENOSPC) and a read-only file system (EROFS) are the kernel's
/// real errors. The tests run as root, which permissions and chmod do not stop, and RLIMIT_FSIZE only gives EFBIG;
/// a mount needs CAP_SYS_ADMIN (root on a VM, or a privileged container), and without it the test fails and says so.
/// </summary>
internal sealed class Tmpfs : IDisposable
{
    private int _fillers;

    /// <summary>Mounts a tmpfs of <paramref name="bytes"/> at <paramref name="mountPoint"/> (created).</summary>
    public Tmpfs(string mountPoint, long bytes)
    {
        Directory.CreateDirectory(mountPoint);
        string? failure = Command("mount", "-t", "tmpfs", "-o", $"size={bytes}", "tmpfs", mountPoint);
        if (failure is not null)
        {
            Assert.Fail($"this test mounts a small tmpfs to get real disk-full and read-only errors and needs CAP_SYS_ADMIN " +
                $"(root on a VM, or a container run with --privileged or --cap-add SYS_ADMIN): {failure}");
        }
        Root = mountPoint;
    }

    /// <summary>The mount point.</summary>
    public string Root { get; }

    /// <summary>A path inside the mount.</summary>
    public string PathOf(string name) => Path.Combine(Root, name);

    /// <summary>Fills the file system until at most <paramref name="bytes"/> remain free (rounded down to whole pages).</summary>
    public void FillLeaving(long bytes)
    {
        long fill = new DriveInfo(Root).AvailableFreeSpace - bytes;
        if (fill <= 0) return;
        using var filler = new FileStream(PathOf($"filler{_fillers++}"), FileMode.CreateNew, FileAccess.Write);
        filler.Write(new byte[fill]);
    }

    /// <summary>Deletes what <see cref="FillLeaving"/> wrote.</summary>
    public void Free()
    {
        for (; _fillers > 0; _fillers--) File.Delete(PathOf($"filler{_fillers - 1}"));
    }

    /// <summary>Remounts read-only (<paramref name="readOnly"/>) or read-write.</summary>
    public void SetReadOnly(bool readOnly) =>
        Assert.That(Command("mount", "-o", readOnly ? "remount,ro" : "remount,rw", Root), Is.Null);

    /// <summary>Unmounts; lazily, so a file a failed test left open cannot keep the mount (and the sandbox) alive.</summary>
    public void Dispose() => Command("umount", "-l", Root);

    // Null when the command succeeded, else what it printed.
    private static string? Command(string program, params string[] args)
    {
        var result = ChildProcess.Run(program, args, AppContext.BaseDirectory, TimeSpan.FromMinutes(1));
        return result.ExitCode == 0 ? null : $"{program} {string.Join(' ', args)}: exit {result.ExitCode}: {(result.Error + result.Output).Trim()}";
    }
}
