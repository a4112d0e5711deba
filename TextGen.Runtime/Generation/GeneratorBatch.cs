using TextGen.Runtime.Kernels;
using TextGen.Runtime.Model;

namespace TextGen.Runtime.Generation;

/// <summary>
/// Advances many generators of one model together, e.g. a crowd of NPCs talking at once: <see cref="NextChars"/>
/// gives every generator its next char, like calling each one's <see cref="TextGenerator.NextChar"/> in turn, with
/// the same results to the bit, but each step reads the model's weights once for all of them instead of once per
/// generator. One generator's step waits on memory streaming the weights; a batch's steps share that stream and
/// are limited by arithmetic instead, so the batch produces several times the chars per second of one generator.
/// <para>
/// The generators stay ordinary generators: each keeps its own options (seed, sampling, stop strings, max length,
/// determinism), and between calls to <see cref="NextChars"/> each can be primed, fed, reset, saved, restored or
/// read on its own, or all primed at once with <see cref="Prime"/>, which feeds their cues in batched steps too. A
/// finished generator gives −1 until it is primed again. Sessions with different kernel
/// settings (<see cref="GeneratorOptions.StrictDeterminism"/>) are stepped in one batched pass per setting.
/// </para>
/// <para>
/// Threads: a batch, and the generators in it while <see cref="NextChars"/> runs, belong to one caller at a time.
/// The model is shared: other batches and generators over it may run on other threads at the same time. After
/// construction, <see cref="NextChars"/> and <see cref="Prime"/> allocate nothing.
/// </para>
/// <para>
/// Memory: for an f32 model on a CPU with AVX-512 or AVX2, a batch with 5 or more generators of one kernel setting reads a
/// second copy of the model's weight matrices, laid out so that one vector holds 16 rows of a column (13.3 MB for the
/// shipped model, as large as its f32 weights). The model's first such batch makes it in its constructor (7–22 ms for
/// the shipped model on the 2-vCPU Xeon of docs/performance.md, mostly the first writes into the new memory); later
/// batches of the model share it, and it lives as long as the model. Small f16 models, widened to f32 at load (at
/// most 1 MiB of matrices), get one too; larger f16 models, q8 models, and CPUs without 256-bit vectors (or a netstandard2.1
/// build), have no second copy. A row-scaled q8 model's batch with 2 or more generators of one kernel setting, on a CPU
/// with AVX2 and no AVX-512BW, quantizes every generator's vectors into a buffer of its own instead (about 1 KB per
/// generator for the shipped model), so that each row of weights meets two generators per load.
/// </para>
/// </summary>
public sealed class GeneratorBatch
{
    private readonly TextGenerator[] _generators;
    private readonly ModelWeights _weights;
    private readonly KernelMode[] _modes;       // (distinct modes) the kernel settings found among the generators
    private readonly int[] _modeOf;             // (generators) index into _modes
    private readonly int[] _waiting;            // (generators) generators still without a result in this call
    private readonly int[] _stepping;           // (generators) generators that drew a token this round
    private readonly int[] _tokens;             // (generators) the token each stepping generator drew
    private readonly string[] _cues;            // (generators) the cues of a Prime call, held while it runs
    private readonly int[] _cuePositions;       // (generators) how far Prime has fed each cue
    private readonly BatchRunState _batch;

    /// <summary>A batch of <paramref name="generators"/>, all created by <paramref name="model"/>, each at most once. The list is copied.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> or <paramref name="generators"/> is null.</exception>
    /// <exception cref="ArgumentException">The list is empty, holds null or the same generator twice, or a generator of another model.</exception>
    public GeneratorBatch(TextModel model, IEnumerable<TextGenerator> generators)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        _generators = (generators ?? throw new ArgumentNullException(nameof(generators))).ToArray();
        if (_generators.Length == 0) throw new ArgumentException("a batch needs at least one generator", nameof(generators));
        var seen = new HashSet<TextGenerator>();
        var modes = new List<KernelMode>();
        _modeOf = new int[_generators.Length];
        for (int i = 0; i < _generators.Length; i++)
        {
            TextGenerator generator = _generators[i] ?? throw new ArgumentException($"generator {i} is null", nameof(generators));
            if (generator.Model != model) throw new ArgumentException($"generator {i} was created by another model; a batch runs the generators of one model", nameof(generators));
            if (!seen.Add(generator)) throw new ArgumentException($"generator {i} is already in the batch (a generator steps once per call)", nameof(generators));
            int mode = modes.FindIndex(m => m.Path == generator.Mode.Path && m.Strict == generator.Mode.Strict);
            if (mode < 0)
            {
                mode = modes.Count;
                modes.Add(generator.Mode);
            }
            _modeOf[i] = mode;
        }
        _modes = modes.ToArray();
        _weights = model.Weights;
        _waiting = new int[_generators.Length];
        _stepping = new int[_generators.Length];
        _tokens = new int[_generators.Length];
        _cues = new string[_generators.Length];
        _cuePositions = new int[_generators.Length];
        // f32 on AVX-512 and AVX2: the batch reads a second copy of the weights, laid out for its tiles (made once per model),
        // when a kernel setting has enough generators to step together; each setting steps its own.
        var perMode = new int[_modes.Length];
        foreach (int mode in _modeOf) perMode[mode]++;
        bool lanePanels = false, batchedQ8 = false;
        for (int mode = 0; mode < _modes.Length; mode++)
        {
            lanePanels |= _weights.UsesLanePanels(_modes[mode], perMode[mode]);
            batchedQ8 |= _weights.UsesBatchedQ8(_modes[mode], perMode[mode]);
        }
        if (lanePanels) _weights.PrepareLanePanels();
        _batch = new BatchRunState(_weights, _generators.Length, lanePanels, batchedQ8);
    }

    /// <summary>Floats of scratch the batch's kernels share: lane panels' packed inputs, or row-scaled q8's quantized vectors.</summary>
    internal int KernelWorkspaceFloats => _batch.KernelWorkspace.Count;

    /// <summary>The model every generator of the batch runs.</summary>
    public TextModel Model { get; }

    /// <summary>Number of generators.</summary>
    public int Count => _generators.Length;

    /// <summary>The generator at <paramref name="index"/>, whose char <see cref="NextChars"/> writes at the same index.</summary>
    public TextGenerator this[int index] => _generators[index];

    /// <summary>True when every generator has ended (<see cref="TextGenerator.IsFinished"/>).</summary>
    public bool IsFinished => Array.TrueForAll(_generators, g => g.IsFinished);

    /// <summary>
    /// Writes the next UTF-16 char of every generator to <paramref name="results"/> (index i for generator i), exactly
    /// what each generator's <see cref="TextGenerator.NextChar"/> would return: a char 0..0xFFFF, or −1 when its
    /// generation has ended. A character outside the BMP takes two calls. Returns how many generators gave a char.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="results"/> does not hold exactly <see cref="Count"/> ints.</exception>
    public int NextChars(Span<int> results)
    {
        if (results.Length != _generators.Length) throw new ArgumentException($"results hold {results.Length} ints; the batch has {_generators.Length} generators", nameof(results));
        ClaimAll();
        try
        {
            return Step(results);
        }
        finally
        {
            ReleaseAll();
        }
    }

    private int Step(Span<int> results)
    {
        int produced = 0;
        int waiting = _generators.Length;
        for (int i = 0; i < waiting; i++) _waiting[i] = i;
        // NextChar's loop for all generators together: a generator with a char ready (or finished) is done; the others
        // draw a token and are fed it in one batched step, and wait again, since a stop string may hold the char back.
        while (waiting > 0)
        {
            int stillWaiting = 0, stepping = 0;
            for (int k = 0; k < waiting; k++)
            {
                int i = _waiting[k];
                TextGenerator generator = _generators[i];
                if (generator.TryNextReady(out int unit))
                {
                    results[i] = unit;
                    if (unit >= 0) produced++;
                    continue;
                }
                _waiting[stillWaiting++] = i;
                int token = generator.SampleToken();
                if (token < 0) continue; // max length reached: released text or −1 on the next round
                _stepping[stepping] = i;
                _tokens[stepping++] = token;
            }
            Feed(stepping);
            for (int k = 0; k < stepping; k++) _generators[_stepping[k]].AcceptToken(_tokens[k]);
            waiting = stillWaiting;
        }
        return produced;
    }

    /// <summary>
    /// Primes every generator at once: generator i is fed <paramref name="cues"/>[i] exactly as its own
    /// <see cref="TextGenerator.Prime(string)"/> would feed it, to the bit, and then starts a new generation. The cues'
    /// characters are stepped together, one batched step per position, so a crowd's cues read the weights once per
    /// character position instead of once per generator and character. An empty cue only starts a new generation.
    /// When a generator's options say throw and its cue holds a character outside the vocabulary, no generator is fed
    /// anything. Allocates nothing.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="cues"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="cues"/> does not hold exactly <see cref="Count"/> strings, or holds null.</exception>
    /// <exception cref="UnknownCharacterException">A cue holds a character outside the vocabulary and its generator's options say throw; the message names the cue.</exception>
    public void Prime(IReadOnlyList<string> cues)
    {
        if (cues is null) throw new ArgumentNullException(nameof(cues));
        if (cues.Count != _generators.Length) throw new ArgumentException($"{cues.Count} cues for a batch of {_generators.Length} generators; give one per generator (an empty one to feed nothing)", nameof(cues));
        ClaimAll();
        try
        {
            // Every cue is read once and checked before anything is fed, so a refusal changes no generator.
            for (int i = 0; i < _generators.Length; i++)
            {
                _cues[i] = cues[i] ?? throw new ArgumentException($"cue {i} is null; an empty cue feeds nothing", nameof(cues));
                int unknownAt = _generators[i].IndexOfRefused(_cues[i].AsSpan(), out int scalar);
                if (unknownAt >= 0) throw new UnknownCharacterException(scalar, unknownAt, i);
                _cuePositions[i] = 0;
            }
            while (true)
            {
                int stepping = 0;
                for (int i = 0; i < _generators.Length; i++)
                {
                    int token = _generators[i].NextPrimeToken(_cues[i].AsSpan(), ref _cuePositions[i]);
                    if (token < 0) continue;
                    _stepping[stepping] = i;
                    _tokens[stepping++] = token;
                }
                if (stepping == 0) break;
                Feed(stepping);
            }
            foreach (TextGenerator generator in _generators) generator.StartGeneration();
        }
        finally
        {
            Array.Clear(_cues, 0, _cues.Length); // the batch keeps no caller strings alive
            ReleaseAll();
        }
    }

    // Every generator is claimed for the whole call, as its own calls claim it (TextGenerator.Claim); if one is busy
    // on another thread, those already claimed are released and nothing has changed.
    private void ClaimAll()
    {
        int claimed = 0;
        try
        {
            for (; claimed < _generators.Length; claimed++) _generators[claimed].Claim();
        }
        catch
        {
            for (int i = 0; i < claimed; i++) _generators[i].Release();
            throw;
        }
    }

    private void ReleaseAll()
    {
        foreach (TextGenerator generator in _generators) generator.Release();
    }

    /// <summary>One batched forward step per kernel setting for the first <paramref name="stepping"/> generators of <see cref="_stepping"/>.</summary>
    private void Feed(int stepping)
    {
        for (int mode = 0; mode < _modes.Length; mode++)
        {
            int count = 0;
            for (int k = 0; k < stepping; k++)
            {
                int i = _stepping[k];
                if (_modeOf[i] != mode) continue;
                _batch.Sessions[count] = _generators[i].State;
                _batch.Tokens[count++] = _tokens[k];
            }
            if (count > 0) BatchedForwardPass.Step(_weights, _batch, _modes[mode], count);
        }
    }
}
