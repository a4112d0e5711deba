namespace TextGen.Runtime.Model;

/// <summary>Token ids ↔ Unicode scalar values. Lookups are allocation-free: one array read for the BMP.</summary>
internal sealed class Vocabulary
{
    private readonly int[] _scalars;                        // (V) id → scalar
    private readonly int[] _basicPlaneIds;                  // (largest BMP scalar + 1) scalar → id, −1 when absent
    private readonly Dictionary<int, int> _supplementaryIds; // scalars above U+FFFF → id

    public Vocabulary(IReadOnlyList<int> scalars)
    {
        _scalars = scalars.ToArray();
        int largestBasic = -1;
        foreach (int s in _scalars)
        {
            if (s <= 0xFFFF && s > largestBasic) largestBasic = s;
        }
        _basicPlaneIds = new int[largestBasic + 1];
        _basicPlaneIds.AsSpan().Fill(-1);
        _supplementaryIds = new Dictionary<int, int>();
        for (int id = 0; id < _scalars.Length; id++)
        {
            int s = _scalars[id];
            if (s <= 0xFFFF) _basicPlaneIds[s] = id;
            else _supplementaryIds[s] = id;
        }
    }

    public int Count => _scalars.Length;

    /// <summary>The id of <paramref name="scalar"/>, or −1 when it is not in the vocabulary.</summary>
    public int IdOf(int scalar)
    {
        if ((uint)scalar < (uint)_basicPlaneIds.Length) return _basicPlaneIds[scalar];
        return scalar > 0xFFFF && _supplementaryIds.TryGetValue(scalar, out int id) ? id : -1;
    }

    public int ScalarOf(int id) => _scalars[id];
}
