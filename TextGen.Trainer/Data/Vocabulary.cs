namespace TextGen.Trainer.Data;

/// <summary>The sorted set of Unicode scalars a corpus uses; a character's id is its rank.</summary>
internal sealed class Vocabulary
{
    private readonly int[] _scalars;
    private readonly Dictionary<int, int> _ids;

    /// <summary>Creates a vocabulary from scalars already sorted and distinct (as stored in a checkpoint).</summary>
    /// <exception cref="ArgumentException">The scalars are not strictly increasing.</exception>
    public Vocabulary(IReadOnlyList<int> sortedScalars)
    {
        _scalars = sortedScalars.ToArray();
        for (int i = 1; i < _scalars.Length; i++)
        {
            if (_scalars[i] <= _scalars[i - 1]) throw new ArgumentException("vocabulary must be strictly increasing", nameof(sortedScalars));
        }
        _ids = new Dictionary<int, int>(_scalars.Length);
        for (int i = 0; i < _scalars.Length; i++) _ids[_scalars[i]] = i;
    }

    /// <summary>The distinct scalars of <paramref name="text"/>, sorted so the same text always gives the same ids.</summary>
    public static Vocabulary Of(IEnumerable<int> text) => new(text.Distinct().Order().ToArray());

    /// <summary>Scalars in id order.</summary>
    public IReadOnlyList<int> Scalars => _scalars;

    /// <summary>Number of distinct characters.</summary>
    public int Count => _scalars.Length;

    /// <summary>Maps each scalar of <paramref name="text"/> to its id.</summary>
    /// <exception cref="ArgumentException">A scalar is not in the vocabulary.</exception>
    public int[] Encode(ReadOnlySpan<int> text)
    {
        var ids = new int[text.Length];
        for (int i = 0; i < text.Length; i++)
        {
            if (!_ids.TryGetValue(text[i], out ids[i]))
            {
                throw new ArgumentException($"character U+{text[i]:X4} at position {i} is not in the vocabulary", nameof(text));
            }
        }
        return ids;
    }
}
