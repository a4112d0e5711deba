using System.Runtime.InteropServices;
using TextGen.Runtime.Format;
using TextGen.Runtime.Kernels;
using TextGen.Runtime.Model;

namespace TextGen.Tests.Format;

/// <summary>Weight matrices start on a 64-byte cache line, wherever the allocator puts their arrays, and large ones on a huge page advised as one.</summary>
public sealed class AlignedArrayTests
{
    private static readonly int[] Lengths = { 0, 1, 15, 16, 1000, 300_000 };

    [Test]
    public void SegmentsStartOnACacheLineAndHoldTheirLength()
    {
        foreach (int length in Lengths)
        {
            // Each allocation lands where the heap has room, so several in a row see different starting offsets.
            for (int i = 0; i < 8; i++)
            {
                AssertAligned(AlignedArray.Create<float>(length), length, $"float[{length}] #{i}");
                AssertAligned(AlignedArray.Create<ushort>(length), length, $"ushort[{length}] #{i}");
                AssertAligned(AlignedArray.Create<sbyte>(length), length, $"sbyte[{length}] #{i}");
            }
        }
    }

    [Test]
    public void HugePagesAreUsedWhereTheKernelGivesThemOnRequest()
    {
        // The kernel's mode reads like "always [madvise] never"; this test machine runs Linux in madvise mode.
        const string modeFile = "/sys/kernel/mm/transparent_hugepage/enabled";
        string mode = OperatingSystem.IsLinux() && File.Exists(modeFile) ? File.ReadAllText(modeFile) : "";
        Assert.That(HugePages.Supported, Is.EqualTo(mode.Contains("[always]") || mode.Contains("[madvise]")), mode);
    }

    [TestCase(HugePages.PageBytes / 4 - 1, false)]
    [TestCase(HugePages.PageBytes / 4, true)]
    [TestCase(5_000_000 / 4, true)]
    public void LargeSegmentsStartOnAHugePageAndAreAdvisedToUseThem(int floats, bool large)
    {
        if (large) Assume.That(HugePages.Supported, "huge pages are offered here (Linux, transparent huge pages in always or madvise mode)");
        bool huge = large;
        for (int i = 0; i < 3; i++)
        {
            ArraySegment<float> segment = AlignedArray.Create<float>(floats);
            AssertAligned(segment, floats, $"float[{floats}] #{i}");
            long start = Address(segment.Array!, segment.Offset);
            // Below 2 MiB only the cache line is promised (memory a collected matrix left may be advised already, so
            // no flag is checked there).
            if (!huge) continue;
            Assert.That(start % HugePages.PageBytes, Is.Zero, $"float[{floats}] #{i} starts a huge page");
            // The advice marks the range's mapping "hg" (VM_HUGEPAGE) in /proc/self/smaps, split from the rest of the heap.
            segment.AsSpan().Fill(1f);
            Assert.That(MappingFlags(start + HugePages.PageBytes / 2), Does.Contain("hg"), $"float[{floats}] #{i}");
            GC.KeepAlive(segment.Array); // its memory must stay this array's while smaps is read
        }
    }

    // The VmFlags of the mapping that holds `address`, from /proc/self/smaps.
    private static string[] MappingFlags(long address)
    {
        bool inside = false;
        foreach (string line in File.ReadLines("/proc/self/smaps"))
        {
            int dash = line.IndexOf('-');
            int space = line.IndexOf(' ');
            if (dash > 0 && space > dash && long.TryParse(line[..dash], System.Globalization.NumberStyles.HexNumber, null, out long from)
                && long.TryParse(line[(dash + 1)..space], System.Globalization.NumberStyles.HexNumber, null, out long to))
            {
                inside = from <= address && address < to;
            }
            else if (inside && line.StartsWith("VmFlags:", StringComparison.Ordinal))
            {
                return line["VmFlags:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            }
        }
        throw new InvalidOperationException($"no mapping holds 0x{address:x}");
    }

    [TestCase(TensorDType.F32)]
    [TestCase(TensorDType.F16)]
    [TestCase(TensorDType.Q8)]
    public void EveryMatrixOfALoadedModelStartsOnACacheLine(TensorDType dtype)
    {
        ModelFile file = RandomModels.Create(RandomModels.Architecture(CellKind.Lstm, layers: 2, hidden: 40, embedding: 12, vocab: 23), seed: 5).ConvertTo(dtype);
        var models = new[]
        {
            (TextModel.Load(file.ToBytes(), "bytes"), "loaded"),
            // No input table (limit 0), so layer 0's input matrix is kept; the portable layout widens f16 and interleaves q8.
            (TextModel.FromFile(file, maxInputTableFloats: 0, portableLayout: false), "built"),
            (TextModel.FromFile(file, maxInputTableFloats: 0, portableLayout: true), "built, portable layout"),
        };
        foreach (var (model, how) in models)
        {
            ModelWeights weights = model.Weights;
            var matrices = weights.Layers.SelectMany(l => new[] { l.InputWeights, l.HiddenWeights }).Append(weights.HeadWeight).Where(m => m.Rows > 0).ToList();
            Assert.That(matrices, Has.Count.EqualTo(how == "loaded" ? 4 : 5), how);
            foreach (WeightRows m in matrices) Assert.That(AddressOfFirst(m) % AlignedArray.LineBytes, Is.Zero, $"{how}: a {m.Rows}×{m.Columns} {m.DType} matrix at element {m.Origin}");
        }
    }

    private static void AssertAligned<T>(ArraySegment<T> segment, int length, string what) where T : unmanaged
    {
        Assert.That(segment.Count, Is.EqualTo(length), what);
        Assert.That(segment.Offset + segment.Count, Is.LessThanOrEqualTo(segment.Array!.Length), what);
        Assert.That(Address(segment.Array, segment.Offset) % AlignedArray.LineBytes, Is.Zero, what);
    }

    private static long AddressOfFirst(WeightRows m) => m.DType switch
    {
        TensorDType.F16 => Address(m.Halves, m.ElementStart(0)),
        TensorDType.Q8 => Address(m.Quants, m.ElementStart(0)),
        _ => Address(m.Floats, m.ElementStart(0)),
    };

    // The arrays are allocated pinned, so the address stays valid after the handle is freed.
    private static long Address<T>(T[] array, int index) where T : unmanaged
    {
        GCHandle handle = GCHandle.Alloc(array, GCHandleType.Pinned);
        try
        {
            return handle.AddrOfPinnedObject().ToInt64() + (long)index * Marshal.SizeOf<T>();
        }
        finally
        {
            handle.Free();
        }
    }
}
