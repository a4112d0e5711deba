using TextGen.Runtime.Format;
using TextGen.Runtime.Kernels;
using TextGen.Runtime.Model;
using TextGen.Runtime.Sampling;

namespace TextGen.Runtime.Generation;

/// <summary>
/// One caller's generation session over a shared <see cref="TextModel"/>: its recurrent state, random generator,
/// stop-string window and counters. Create one per NPC, thread or text box with
/// <see cref="TextModel.CreateGenerator"/>; a generator serves one caller at a time, but any number of generators can
/// run at once on one model. A call that arrives while another is still running on the same generator (from another
/// thread) throws <see cref="InvalidOperationException"/> instead of corrupting the text of both. After construction,
/// generating allocates nothing.
/// <para>
/// Text comes out as UTF-16: a character outside the BMP (the vocabulary holds Unicode scalars) arrives as a
/// surrogate pair, through <see cref="NextChar"/> as two consecutive calls, like <see cref="TextReader.Read()"/>.
/// </para>
/// </summary>
public sealed class TextGenerator
{
    // The PCG stream every generator draws from ("TextGen" in ASCII); the seed picks the position.
    private const ulong RandomStream = 0x54657874_47656EUL;
    private const uint SnapshotMagic = 0x74734754; // "TGst" little-endian
    private const ushort SnapshotVersion = 1;

    private readonly ModelWeights _weights;
    private readonly Vocabulary _vocabulary;
    private readonly KernelMode _mode;
    private readonly RunState _state;
    private readonly Sampler _sampler;
    private readonly StopStringWindow _output;
    private readonly int _replacementId;
    private int _generated;  // characters sampled since the last prime or reset
    private bool _finished;  // a stop string or MaxLength ended generation
    private int _inUse;      // 1 while a call (or a batch) is using the state, else 0; see Claim

    internal TextGenerator(TextModel model, GeneratorOptions options)
    {
        Model = model;
        Options = options ?? throw new ArgumentNullException(nameof(options));
        _weights = model.Weights;
        _vocabulary = model.Vocabulary;
        _mode = _weights.ModeFor(options.KernelPath ?? KernelMode.BestPath, options.StrictDeterminism);
        _state = new RunState(_weights);
        _sampler = new Sampler(options.Sampling, _vocabulary, _mode.Path, Pcg32.Seeded(options.Seed, RandomStream));
        _output = new StopStringWindow(options.StopStrings);
        _replacementId = -1;
        if (options.UnknownCharacters == UnknownCharacterHandling.Replace)
        {
            _replacementId = _vocabulary.IdOf(options.ReplacementCharacter);
            if (_replacementId < 0)
                throw new ArgumentException($"the replacement character U+{options.ReplacementCharacter:X4} is not in the model's vocabulary", nameof(options));
        }
        ForwardPass.Reset(_weights, _state, _mode);
    }

    /// <summary>The model this generator runs.</summary>
    public TextModel Model { get; }

    /// <summary>The options this generator was created with.</summary>
    public GeneratorOptions Options { get; }

    /// <summary>True once a stop string or <see cref="GeneratorOptions.MaxLength"/> has ended generation and every generated char was read.</summary>
    public bool IsFinished => _finished && _output.Ready.IsEmpty;

    /// <summary>Characters (Unicode scalars) generated since the last prime or reset.</summary>
    public int GeneratedLength => _generated;

    /// <summary>
    /// The model's scores for the next character, indexed by token id (see <see cref="TextModel.GetScalar"/>),
    /// before any sampling option applies. Valid until the next call that feeds or generates.
    /// </summary>
    public ReadOnlySpan<float> Logits => _state.Logits;

    /// <summary>Feeds <paramref name="text"/> as context; see <see cref="Prime(ReadOnlySpan{char})"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    /// <exception cref="UnknownCharacterException">A character is not in the vocabulary and the options say throw.</exception>
    public void Prime(string text) => Prime((text ?? throw new ArgumentNullException(nameof(text))).AsSpan());

    /// <summary>
    /// Feeds <paramref name="text"/> to the model as context, continuing from the current state, and starts a new
    /// generation: the <see cref="GeneratorOptions.MaxLength"/> count restarts, a finished generator can generate
    /// again, and generated chars not yet read are dropped. Characters outside the vocabulary are handled as
    /// <see cref="GeneratorOptions.UnknownCharacters"/> says; when it says throw, nothing is fed.
    /// </summary>
    /// <exception cref="UnknownCharacterException">A character is not in the vocabulary and the options say throw.</exception>
    public void Prime(ReadOnlySpan<char> text)
    {
        int unknownAt = IndexOfRefused(text, out int scalar);
        if (unknownAt >= 0) throw new UnknownCharacterException(scalar, unknownAt);
        using var claim = Claim();
        int position = 0, id;
        while ((id = NextPrimeToken(text, ref position)) >= 0) ForwardPass.Step(_weights, _state, _mode, id);
        StartGeneration();
    }

    /// <summary>
    /// Where <see cref="Prime(ReadOnlySpan{char})"/> would refuse <paramref name="text"/>: the position of its first
    /// character outside the vocabulary (that character in <paramref name="scalar"/>) when the options say throw; −1
    /// when it would be fed.
    /// </summary>
    internal int IndexOfRefused(ReadOnlySpan<char> text, out int scalar)
    {
        scalar = 0;
        if (Options.UnknownCharacters != UnknownCharacterHandling.Throw) return -1;
        for (int i = 0; i < text.Length;)
        {
            scalar = Utf16.ReadScalar(text, i, out int length);
            if (_vocabulary.IdOf(scalar) < 0) return i;
            i += length;
        }
        return -1;
    }

    /// <summary>
    /// The next token a prime feeds from <paramref name="text"/> at <paramref name="position"/>, which moves past it:
    /// characters outside the vocabulary become the replacement character or are skipped, as the options say. −1 at
    /// the end of the text.
    /// </summary>
    internal int NextPrimeToken(ReadOnlySpan<char> text, ref int position)
    {
        while (position < text.Length)
        {
            int id = _vocabulary.IdOf(Utf16.ReadScalar(text, position, out int length));
            position += length;
            if (id < 0) id = _replacementId;
            if (id >= 0) return id;
        }
        return -1;
    }

    /// <summary>
    /// Feeds one token id (an index into the vocabulary), like priming with its character; for evaluation and
    /// parity checks with <see cref="Logits"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a token id of the model.</exception>
    public void FeedToken(int tokenId)
    {
        if ((uint)tokenId >= (uint)_vocabulary.Count) throw new ArgumentOutOfRangeException(nameof(tokenId), tokenId, $"token ids run from 0 to {_vocabulary.Count - 1}");
        using var claim = Claim();
        ForwardPass.Step(_weights, _state, _mode, tokenId);
        StartGeneration();
    }

    /// <summary>
    /// Generates and returns the next UTF-16 char (as an int 0..0xFFFF), or −1 when generation has ended (stop string
    /// or max length) — like <see cref="TextReader.Read()"/>. A character outside the BMP takes two calls.
    /// Without a prime, the first character is drawn from the model's empty-context scores (the head's bias).
    /// </summary>
    public int NextChar()
    {
        using var claim = Claim();
        int unit;
        while (!TryNextReady(out unit)) SampleNext();
        return unit;
    }

    /// <summary>
    /// Generates into <paramref name="destination"/> until it is full or generation ends; returns the number of chars
    /// written, 0 only when generation has ended (or the destination is empty). A surrogate pair is not split across
    /// calls (the call stops one short instead) unless the destination has room for a single char.
    /// </summary>
    public int Generate(Span<char> destination)
    {
        using var claim = Claim();
        int written = 0;
        while (written < destination.Length)
        {
            if (!_output.TryPeek(out char unit))
            {
                if (_finished) break;
                SampleNext();
                continue;
            }
            if (char.IsHighSurrogate(unit) && written == destination.Length - 1 && written > 0) break;
            _output.TryRead(out unit);
            destination[written++] = unit;
        }
        return written;
    }

    /// <summary>Generates up to <paramref name="maxChars"/> UTF-16 chars into a new string (shorter when generation ends).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxChars"/> is negative.</exception>
    public string GenerateString(int maxChars)
    {
        if (maxChars < 0) throw new ArgumentOutOfRangeException(nameof(maxChars), maxChars, "must be ≥ 0");
        var buffer = new char[maxChars];
        return new string(buffer, 0, Generate(buffer));
    }

    /// <summary>
    /// Generated chars one at a time until generation ends (never, without a stop string or max length: use
    /// <c>Take</c>). Only the enumerator is allocated.
    /// </summary>
    public IEnumerable<char> EnumerateChars()
    {
        int unit;
        while ((unit = NextChar()) >= 0) yield return (char)unit;
    }

    /// <summary>Back to the state right after creation: zero recurrent state, the seed's first random number, no pending output.</summary>
    public void Reset()
    {
        using var claim = Claim();
        ForwardPass.Reset(_weights, _state, _mode);
        _sampler.Random = Pcg32.Seeded(Options.Seed, RandomStream);
        StartGeneration();
    }

    /// <summary>Size in bytes of <see cref="SaveState()"/>'s result right now.</summary>
    public int StateSize
    {
        get
        {
            int vectors = _weights.Layers.Length * StateVectorsPerLayer * _weights.HiddenSize;
            int header = 4 + 2 + 8 + 2 + 4 + 1;
            int tail = 8 + 8 + 4 + 1 + 2 + 2 * _output.Held.Length + 2 + 2 * _output.Ready.Length;
            return header + 4 * vectors + tail + StateSnapshotReader.ChecksumSize;
        }
    }

    /// <summary>The complete state (recurrent state, random generator, stop-string window, counters) as bytes, for save games.</summary>
    public byte[] SaveState()
    {
        var bytes = new byte[StateSize];
        SaveState(bytes);
        return bytes;
    }

    /// <summary>
    /// Writes the complete state into <paramref name="destination"/> without allocating; returns the bytes written
    /// (<see cref="StateSize"/>). Layout, little-endian: "TGst", u16 version 1, u64 model fingerprint, u16 layers,
    /// u32 hidden size, u8 vectors per layer (1: h; 2: h, c), f32 h (then c) of each layer, u64 PCG state,
    /// u64 PCG increment, i32 characters generated, u8 finished, u16 count + UTF-16 units held back by the stop
    /// strings, u16 count + units generated but not read, u64 FNV-1a checksum of everything before.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="StateSize"/>.</exception>
    public int SaveState(Span<byte> destination)
    {
        int size = StateSize;
        if (destination.Length < size) throw new ArgumentException($"the state needs {size} bytes, the destination holds {destination.Length}", nameof(destination));
        using var claim = Claim();
        var writer = new StateSnapshotWriter(destination);
        writer.WriteInt32(unchecked((int)SnapshotMagic));
        writer.WriteUInt16(SnapshotVersion);
        writer.WriteUInt64(Model.Fingerprint);
        writer.WriteUInt16((ushort)_weights.Layers.Length);
        writer.WriteInt32(_weights.HiddenSize);
        writer.WriteByte((byte)StateVectorsPerLayer);
        for (int l = 0; l < _weights.Layers.Length; l++)
        {
            writer.WriteFloats(_state.Hidden[l]);
            writer.WriteFloats(_state.Cell[l]);
        }
        writer.WriteUInt64(_sampler.Random.State);
        writer.WriteUInt64(_sampler.Random.Increment);
        writer.WriteInt32(_generated);
        writer.WriteByte(_finished ? (byte)1 : (byte)0);
        writer.WriteUnits(_output.Held);
        writer.WriteUnits(_output.Ready);
        return writer.Close();
    }

    /// <summary>
    /// Continues from a state saved by <see cref="SaveState()"/> of a generator on the same model (this one or
    /// another, e.g. after the game restarts). The bytes are checked completely before anything changes.
    /// </summary>
    /// <exception cref="GeneratorStateException">The bytes are not a state, are corrupted or truncated, have another version, were saved with a different model, or hold a NaN or infinity in the recurrent state.</exception>
    public void RestoreState(ReadOnlySpan<byte> state)
    {
        var reader = new StateSnapshotReader(state);
        if (reader.Remaining < 6 || unchecked((uint)reader.ReadInt32()) != SnapshotMagic) throw new GeneratorStateException("the bytes are not a TextGen generator state");
        ushort version = reader.ReadUInt16();
        if (version != SnapshotVersion) throw new GeneratorStateException($"the state has format version {version}; this runtime reads version {SnapshotVersion}");
        if (!reader.ChecksumMatches) throw new GeneratorStateException("the checksum does not match: the bytes were corrupted or truncated");
        if (reader.ReadUInt64() != Model.Fingerprint) throw new GeneratorStateException("the state was saved with a different model");
        int layers = reader.ReadUInt16(), hidden = reader.ReadInt32(), perLayer = reader.ReadByte();
        if (layers != _weights.Layers.Length || hidden != _weights.HiddenSize || perLayer != StateVectorsPerLayer)
            throw new GeneratorStateException($"the state holds {layers} layers × {perLayer} vectors × {hidden}, the model needs {_weights.Layers.Length} × {StateVectorsPerLayer} × {_weights.HiddenSize}");
        var vectors = new float[layers * perLayer * hidden];
        reader.ReadFloats(vectors);
        // The checksum only proves the bytes are as written; a state edited and resealed could hold a NaN, which
        // would silence the generator for good (it spreads through every later step), so it is refused here.
        int nonFinite = LittleEndianFloat32.IndexOfNonFinite(vectors);
        if (nonFinite >= 0)
        {
            int layer = nonFinite / (perLayer * hidden), vector = nonFinite / hidden % perLayer;
            throw new GeneratorStateException($"the state's layer {layer} {(vector == 0 ? "h" : "c")}[{nonFinite % hidden}] is {LittleEndianFloat32.DescribeNonFinite(vectors[nonFinite])}; only a state of finite numbers can be continued");
        }
        ulong randomState = reader.ReadUInt64(), randomIncrement = reader.ReadUInt64();
        int generated = reader.ReadInt32();
        byte finished = reader.ReadByte();
        if (generated < 0 || finished > 1) throw new GeneratorStateException("the counters are invalid");
        char[] held = reader.ReadUnits(_output.HeldCapacity, "held-back chars");
        char[] ready = reader.ReadUnits(_output.ReadyCapacity, "unread chars");
        if (reader.Remaining != 0) throw new GeneratorStateException($"{reader.Remaining} bytes follow the state");

        // Everything checked: apply.
        using var claim = Claim();
        int offset = 0;
        for (int l = 0; l < layers; l++)
        {
            vectors.AsSpan(offset, hidden).CopyTo(_state.Hidden[l]);
            offset += hidden;
            vectors.AsSpan(offset, _state.Cell[l].Length).CopyTo(_state.Cell[l]);
            offset += _state.Cell[l].Length;
        }
        ForwardPass.Head(_weights, _state, _mode);
        _sampler.Random = Pcg32.FromState(randomState, randomIncrement);
        _generated = generated;
        _finished = finished == 1;
        _output.Restore(held, ready);
    }

    /// <summary>
    /// Marks the state in use by the calling operation until the returned scope is disposed (or <see cref="Release"/>
    /// is called). A second caller arriving meanwhile, which can only be another thread, is refused before it reads or
    /// writes anything, so the running call finishes as if alone; two threads taking turns are not caught, and need no
    /// catching as long as they do take turns.
    /// </summary>
    /// <exception cref="InvalidOperationException">Another call is using this generator.</exception>
    internal ClaimScope Claim()
    {
        if (Interlocked.Exchange(ref _inUse, 1) != 0)
        {
            throw new InvalidOperationException("This TextGenerator is being used by another call on another thread; a generator serves one caller at a time. Give each thread its own (TextModel.CreateGenerator).");
        }
        return new ClaimScope(this);
    }

    /// <summary>Ends the use <see cref="Claim"/> began.</summary>
    internal void Release() => Volatile.Write(ref _inUse, 0);

    /// <summary>A claim held for one call: <c>using var claim = Claim();</c> releases it however the call ends.</summary>
    internal readonly ref struct ClaimScope
    {
        private readonly TextGenerator _generator;

        public ClaimScope(TextGenerator generator) => _generator = generator;

        public void Dispose() => _generator.Release();
    }

    private int StateVectorsPerLayer => _weights.Architecture.StateVectorsPerLayer;

    /// <summary>What ends every prime: the max-length count restarts, the generator may generate again, unread chars are dropped.</summary>
    internal void StartGeneration()
    {
        _output.Clear();
        _generated = 0;
        _finished = false;
    }

    /// <summary>Draws one character, feeds it back into the model, and passes it through the stop-string window.</summary>
    private void SampleNext()
    {
        int id = SampleToken();
        if (id < 0) return;
        ForwardPass.Step(_weights, _state, _mode, id);
        AcceptToken(id);
    }

    /// <summary>
    /// The first half of <see cref="SampleNext"/>: the next token id to feed, or −1 when <see cref="GeneratorOptions.MaxLength"/>
    /// has ended generation (what was held back is released). A <see cref="GeneratorBatch"/> feeds the token to many
    /// generators at once, then calls <see cref="AcceptToken"/> on each.
    /// </summary>
    internal int SampleToken()
    {
        if (Options.MaxLength is int max && _generated >= max)
        {
            _output.Flush();
            _finished = true;
            return -1;
        }
        return _sampler.Sample(_state.Logits);
    }

    /// <summary>The second half of <see cref="SampleNext"/>, after <paramref name="id"/> was fed: counts it and passes its units through the stop-string window.</summary>
    internal void AcceptToken(int id)
    {
        _generated++;
        Span<char> units = stackalloc char[2];
        int count = Utf16.Encode(_vocabulary.ScalarOf(id), units);
        for (int k = 0; k < count; k++)
        {
            if (_output.Append(units[k]))
            {
                _finished = true;
                return;
            }
        }
    }

    /// <summary>
    /// The first step of <see cref="NextChar"/>: the next ready unit, or −1 when generation has ended, or false when the
    /// generator must first sample and feed a character (<see cref="SampleToken"/>).
    /// </summary>
    internal bool TryNextReady(out int unit)
    {
        if (_output.TryRead(out char ready))
        {
            unit = ready;
            return true;
        }
        unit = -1;
        return _finished;
    }

    /// <summary>The recurrent state and logits, for <see cref="GeneratorBatch"/>'s batched forward pass.</summary>
    internal RunState State => _state;

    /// <summary>The kernel path and FMA choice of this generator's options.</summary>
    internal KernelMode Mode => _mode;
}
