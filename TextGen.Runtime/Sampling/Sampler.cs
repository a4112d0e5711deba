using TextGen.Runtime.Kernels;
using TextGen.Runtime.Model;

namespace TextGen.Runtime.Sampling;

/// <summary>
/// Draws token ids from logits: filter, temperature, top-k, top-p, one draw. One per generator, with its scratch
/// allocated up front and the random generator's state (llama2.c's <c>Sampler</c>), so drawing allocates nothing.
/// </summary>
internal sealed class Sampler
{
    private readonly KernelPath _path;
    private readonly float _temperature;
    private readonly int _topK;
    private readonly float _topP;
    private readonly bool[] _allowed;         // (V) false for banned ids and for ids outside the allowed set
    private readonly float[] _maskedLogits;   // (V) logits with disallowed ids at −∞
    private readonly float[] _probabilities;  // (V)
    private readonly long[] _candidates;      // (V) sort keys of ids with probability > 0, see CandidateKey
    private readonly int _firstAllowed;
    private Pcg32 _random;

    /// <exception cref="ArgumentException">The options allow no character of the vocabulary.</exception>
    public Sampler(SamplingOptions options, Vocabulary vocabulary, KernelPath path, Pcg32 random)
    {
        _path = path;
        // A temperature that rounds to a float 0 acts as 0 (argmax): dividing by it would turn the best logit into 0/0.
        _temperature = (float)options.Temperature;
        _topK = options.TopK;
        _topP = (float)options.TopP;
        _random = random;
        int v = vocabulary.Count;
        _allowed = new bool[v];
        _maskedLogits = new float[v];
        _probabilities = new float[v];
        _candidates = new long[v];

        if (options.AllowedCharacters is null) _allowed.AsSpan().Fill(true);
        else SetIds(options.AllowedCharacters, vocabulary, true);
        SetIds(options.BannedCharacters, vocabulary, false);
        _firstAllowed = Array.IndexOf(_allowed, true);
        if (_firstAllowed < 0)
            throw new ArgumentException("the allowed and banned characters leave no character of the model's vocabulary to generate", nameof(options));
    }

    /// <summary>The random generator, for snapshots.</summary>
    public Pcg32 Random
    {
        get => _random;
        set => _random = value;
    }

    public int Sample(ReadOnlySpan<float> logits)
    {
        // Disallowed characters get −∞, which the softmax turns into exactly 0. A valid file may hold weights so large
        // (finite, but near float.MaxValue) that the forward pass overflows into ±∞ or NaN logits: NaN then counts as −∞
        // and +∞ as the largest float, so the softmax below stays defined and at least one candidate keeps a probability.
        float max = float.NegativeInfinity;
        for (int i = 0; i < logits.Length; i++)
        {
            float logit = logits[i];
            float masked = !_allowed[i] || float.IsNaN(logit) ? float.NegativeInfinity : Math.Min(logit, float.MaxValue);
            _maskedLogits[i] = masked;
            if (masked > max) max = masked;
        }
        // No allowed character has a usable score: take the first allowed one, as argmax does among equal scores.
        if (max == float.NegativeInfinity) return _firstAllowed;
        if (_temperature == 0f) return Argmax(_maskedLogits);

        Softmax.Probabilities(_path, _maskedLogits, _temperature, _probabilities);
        if (_topK == 0 && _topP >= 1f) return DrawInIdOrder(_random.NextFloat());

        int count = SortCandidates();
        if (_topK > 0 && count > _topK) count = _topK;
        count = Nucleus(count);
        return DrawFromCandidates(count, _random.NextFloat());
    }

    /// <summary>The first id with the largest value (the benchmarks pick every engine's next token with it too).</summary>
    internal static int Argmax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best]) best = i;
        }
        return best;
    }

    /// <summary>Inverse-CDF draw over all ids; <paramref name="uniform"/> in [0, 1).</summary>
    private int DrawInIdOrder(float uniform)
    {
        float total = 0f;
        foreach (float p in _probabilities) total += p;
        float target = uniform * total;
        float cumulative = 0f;
        int last = 0;
        for (int i = 0; i < _probabilities.Length; i++)
        {
            if (_probabilities[i] == 0f) continue;
            cumulative += _probabilities[i];
            if (target < cumulative) return i;
            last = i;
        }
        // target can round up to the total; the last possible id is then the right answer
        return last;
    }

    /// <summary>Sorts ids with probability > 0 by probability descending, ties by id; returns their count.</summary>
    private int SortCandidates()
    {
        int count = 0;
        for (int i = 0; i < _probabilities.Length; i++)
        {
            if (_probabilities[i] > 0f) _candidates[count++] = CandidateKey(_probabilities[i], i);
        }
        // The keys are distinct, so every correct sort gives the same order on every runtime.
        Array.Sort(_candidates, 0, count);
        return count;
    }

    /// <summary>
    /// A positive float's bits order like the float, so <c>int.MaxValue − bits</c> in the high half and the id in the
    /// low half make an ascending sort list probability descending, then id ascending.
    /// </summary>
    private static long CandidateKey(float probability, int id) => ((long)(int.MaxValue - BitConverter.SingleToInt32Bits(probability)) << 32) | (uint)id;

    private static int CandidateId(long key) => (int)(key & 0xFFFFFFFF);

    /// <summary>The smallest prefix of the sorted candidates holding at least top-p of their mass.</summary>
    private int Nucleus(int count)
    {
        if (_topP >= 1f) return count;
        float mass = 0f;
        for (int k = 0; k < count; k++) mass += _probabilities[CandidateId(_candidates[k])];
        float threshold = _topP * mass;
        float cumulative = 0f;
        for (int k = 0; k < count; k++)
        {
            cumulative += _probabilities[CandidateId(_candidates[k])];
            if (cumulative >= threshold) return k + 1;
        }
        return count;
    }

    /// <summary>Inverse-CDF draw over the first <paramref name="count"/> sorted candidates.</summary>
    private int DrawFromCandidates(int count, float uniform)
    {
        float total = 0f;
        for (int k = 0; k < count; k++) total += _probabilities[CandidateId(_candidates[k])];
        float target = uniform * total;
        float cumulative = 0f;
        for (int k = 0; k < count; k++)
        {
            int id = CandidateId(_candidates[k]);
            cumulative += _probabilities[id];
            if (target < cumulative) return id;
        }
        return CandidateId(_candidates[count - 1]);
    }

    private void SetIds(string characters, Vocabulary vocabulary, bool allowed)
    {
        for (int i = 0; i < characters.Length;)
        {
            int id = vocabulary.IdOf(Utf16.ReadScalar(characters.AsSpan(), i, out int length));
            if (id >= 0) _allowed[id] = allowed;
            i += length;
        }
    }
}
