using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using MessagePack;
using static TextGen.Runtime.Format.ModelFileSchema;

namespace TextGen.Runtime.Format;

/// <summary>
/// Parses and validates a whole <c>*.tgm</c> document held in memory, reading forward with
/// <see cref="MessagePackReader"/>. Every header (map and array counts, string and binary lengths) is checked against
/// the bytes that remain and against the limits in docs/format.md before anything is allocated, and every failure is
/// a <see cref="ModelFormatException"/> naming the key path and byte offset of the value at fault.
/// </summary>
internal ref struct ModelFileReader
{
    private readonly ReadOnlyMemory<byte> _bytes;
    private readonly StreamedFileBytes? _incoming; // the file still arriving from a stream; null when _bytes holds all of it
    private readonly string _source;
    private readonly bool _ownsBuffer;
    private readonly bool _decodeFloat32;
    private readonly bool _useHelperThread;
    private readonly List<(int Start, int Length)> _payloads;
    private readonly LoadProfile? _profile;
    private MessagePackReader _reader;
    private TensorDigest? _digest;
    private long _phaseStart;

    // The value being read, for error messages: its key path, element index (-1 for none) and byte offset.
    private string _path;
    private int _index;
    private long _at;

    // Set while reading the signature, where any failure means the bytes are some other kind of file.
    private string _problemPrefix;

    private ModelFileReader(ReadOnlyMemory<byte> bytes, StreamedFileBytes? incoming, string source, bool ownsBuffer, bool decodeFloat32, bool useHelperThread, LoadProfile? profile)
    {
        _incoming = incoming;
        _decodeFloat32 = decodeFloat32;
        _useHelperThread = useHelperThread;
        _digest = null;
        _profile = profile;
        _phaseStart = profile.Start();
        _bytes = bytes;
        _source = source;
        _ownsBuffer = ownsBuffer;
        _payloads = new List<(int, int)>();
        _reader = new MessagePackReader(bytes);
        _path = "";
        _index = -1;
        _at = 0;
        _problemPrefix = "";
    }

    /// <summary>
    /// Reads a complete file into a <see cref="ModelFile"/>, as <c>ModelFile.Read</c> does: tensors keep their bytes,
    /// and the loading thread hashes them itself.
    /// </summary>
    /// <param name="bytes">The whole file.</param>
    /// <param name="source">Path or asset name for messages.</param>
    /// <param name="ownsBuffer">
    /// True when nobody else holds <paramref name="bytes"/> (the stream and file loaders' own buffer): tensors then
    /// keep slices of it instead of copies. False for caller memory, which the caller may later overwrite.
    /// </param>
    public static ModelFile Read(ReadOnlyMemory<byte> bytes, string source, bool ownsBuffer)
        => Read(bytes, source, ownsBuffer, static file => file, decodeFloat32: false, useHelperThread: false, profile: null);

    /// <summary>
    /// Reads a complete file and builds <paramref name="build"/>'s result from it while a helper thread is still
    /// hashing the tensor data: everything is validated and <c>header_sha256</c> verified by then, only
    /// <c>tensor_sha256</c> is pending. The result is returned once the tensor digest matches and discarded when it
    /// does not, so a model load spends the hashing time building the model instead of waiting. Without a helper the
    /// result is built after the digest matched. With <paramref name="decodeFloat32"/> (a model load) every f32 tensor
    /// is copied once into a float array that is checked as it is copied and that the weights then adopt
    /// (<see cref="ModelTensor.Float32Values"/>); its <see cref="ModelTensor.Data"/> stays a slice of
    /// <paramref name="bytes"/> even when they are the caller's, so the file must not outlive the load.
    /// </summary>
    public static T Read<T>(ReadOnlyMemory<byte> bytes, string source, bool ownsBuffer, Func<ModelFile, T> build, bool decodeFloat32, bool useHelperThread, LoadProfile? profile)
        => Read(bytes, incoming: null, source, ownsBuffer, build, decodeFloat32, useHelperThread, profile);

    /// <summary>
    /// As the model load above, reading the file from <paramref name="incoming"/> as the parse reaches its bytes: each
    /// f32 payload goes from the stream straight into the array the weights keep (<see cref="StreamedFileBytes"/>).
    /// The same checks, messages and byte offsets as reading the whole file into memory first.
    /// </summary>
    public static T Read<T>(StreamedFileBytes incoming, string source, Func<ModelFile, T> build, bool useHelperThread, LoadProfile? profile)
        => Read(incoming.Bytes, incoming, source, ownsBuffer: true, build, decodeFloat32: true, useHelperThread, profile);

    private static T Read<T>(ReadOnlyMemory<byte> bytes, StreamedFileBytes? incoming, string source, bool ownsBuffer, Func<ModelFile, T> build, bool decodeFloat32, bool useHelperThread, LoadProfile? profile)
    {
        if (bytes.Length == 0) throw new ModelFormatException(source, "the file is empty: a TextGen model file is a MessagePack map");
        if (bytes.Length > ModelFile.MaxFileBytes) throw new ModelFormatException(source, $"the file is {bytes.Length} bytes; the limit is {ModelFile.MaxFileBytes}");

        var reader = new ModelFileReader(bytes, incoming, source, ownsBuffer, decodeFloat32, useHelperThread, profile);
        try
        {
            return reader.ReadDocument(build);
        }
        catch (EndOfStreamException e)
        {
            throw reader.Fail("the file ends inside this value (it is truncated)", e);
        }
        catch (MessagePackSerializationException e)
        {
            throw reader.Fail($"malformed MessagePack: {e.Message}", e);
        }
        catch (OverflowException e)
        {
            throw reader.Fail("the number is too large for a 64-bit integer", e);
        }
        finally
        {
            reader._digest?.Dispose();
        }
    }

    // ---- document structure ----

    private T ReadDocument<T>(Func<ModelFile, T> build)
    {
        var map = ReadSignature();

        // The version comes second and is checked before anything else, so a file from a future major version is
        // refused for what it is rather than for whatever its new layout breaks first.
        ExpectKey(ref map, VersionKey, unknownKeysBefore: false);
        var version = ReadVersion();

        ExpectKey(ref map, ArchitectureKey);
        var architecture = ReadArchitecture();

        ExpectKey(ref map, TensorsKey);
        var specs = architecture.ExpectedTensors();
        var scheme = ModelFile.DigestSchemeOf(version);
        _digest = new TensorDigest(scheme, TensorDigest.MaxPieces(specs.Count, _bytes.Length), _useHelperThread ? TensorDigest.HelperThreadsFor(scheme, _bytes.Length) : 0, _profile);
        var tensors = ReadTensors(specs);

        ExpectKey(ref map, MetadataKey);
        var metadata = ReadMetadata();

        ExpectKey(ref map, TensorSha256Key);
        long tensorSha256At = _reader.Consumed;
        byte[] declaredTensorSha256 = ReadDigest(TensorSha256Key);

        // The header digest covers the bytes before its own key, so nothing may follow it, not even unknown keys.
        int headerSha256KeyAt = (int)ExpectKey(ref map, HeaderSha256Key);
        long headerSha256At = _reader.Consumed;
        byte[] declaredHeaderSha256 = ReadDigest(HeaderSha256Key);
        CloseMap(ref map, unknownKeysAfter: false);

        if (!_reader.End)
        {
            Locate("");
            throw Fail($"{_bytes.Length - _reader.Consumed} unexpected bytes after the end of the document");
        }
        _incoming?.CheckEnd();

        EndPhase("parse");
        byte[] headerSha256 = ModelFileChecksums.Header(_bytes.Span.Slice(0, headerSha256KeyAt), _payloads);
        EndPhase("hash_header");
        if (!headerSha256.AsSpan().SequenceEqual(declaredHeaderSha256))
        {
            throw new ModelFormatException(_source, HeaderSha256Key, headerSha256At,
                $"checksum mismatch: the file declares {ModelFileChecksums.ToHex(declaredHeaderSha256)} but its header bytes hash to {ModelFileChecksums.ToHex(headerSha256)}; the file is corrupted");
        }

        // Built with the declared digest, which is the computed one whenever the result is returned. While helpers
        // hash, the model is built meanwhile; on one thread there is nothing to overlap, so only a verified file is built.
        ModelFile file = ModelFile.FromValidatedParts(architecture, tensors, metadata, declaredTensorSha256, version);
        bool helped = _digest.HelperThreads > 0;
        T result = helped ? build(file) : default!;
        _phaseStart = _profile.Start();
        byte[] tensorSha256 = _digest.Finish();
        EndPhase(helped ? "join_tensor_hash" : "hash_tensors");
        if (!tensorSha256.AsSpan().SequenceEqual(declaredTensorSha256))
        {
            throw new ModelFormatException(_source, TensorSha256Key, tensorSha256At,
                $"checksum mismatch: the file declares {ModelFileChecksums.ToHex(declaredTensorSha256)} but the tensor data hashes to {ModelFileChecksums.ToHex(tensorSha256)}; the weights are corrupted");
        }
        return helped ? result : build(file);
    }

    /// <summary>Reads the top-level map header and the magic string; any failure there means some other kind of file.</summary>
    private MapCursor ReadSignature()
    {
        _problemPrefix = "not a TextGen model file: ";
        Locate("");
        if (_reader.NextMessagePackType != MessagePackType.Map) throw Fail($"it starts with {Describe(_reader.NextCode)}, not a MessagePack map");
        var map = OpenMap("", TopLevelKeys, depth: 1);
        ExpectKey(ref map, MagicKey, unknownKeysBefore: false);
        string magic = ReadString(MagicKey, ModelFile.MaxKeyBytes);
        if (magic != ModelFile.Magic) throw Fail($"the magic string is \"{magic}\", not \"{ModelFile.Magic}\"");
        _problemPrefix = "";
        return map;
    }

    private Version ReadVersion()
    {
        long at = _reader.Consumed;
        ReadArrayHeader(VersionKey, 2, 2);
        long major = ReadInteger(VersionKey, 0);
        long minor = ReadInteger(VersionKey, 1);
        if (major is < 0 or > int.MaxValue || minor is < 0 or > int.MaxValue) throw Fail("version numbers must be non-negative 32-bit integers");
        if (major is < ModelFile.OldestReadableMajorVersion or > ModelFile.FormatMajorVersion)
        {
            _at = at;
            _index = -1;
            throw Fail($"format version {major}.{minor} is not supported: this runtime reads format versions {ModelFile.OldestReadableMajorVersion}.x to {ModelFile.FormatMajorVersion}.x (it writes {ModelFile.FormatMajorVersion}.{ModelFile.FormatMinorVersion})");
        }
        return new Version((int)major, (int)minor);
    }

    private ModelArchitecture ReadArchitecture()
    {
        var map = OpenMap(ArchitectureKey, ArchitectureKeys, depth: 2);

        ExpectKey(ref map, CellKey);
        string cellName = ReadString(ArchitectureKey + "." + CellKey, ModelFile.MaxKeyBytes);
        if (!TryParseCell(cellName, out var cell)) throw Fail($"unknown cell kind \"{cellName}\" (this runtime reads rnn, gru and lstm)");

        ExpectKey(ref map, LayersKey);
        long layers = ReadInteger(ArchitectureKey + "." + LayersKey);
        Check(ModelArchitecture.LayersProblem(layers));

        ExpectKey(ref map, HiddenKey);
        long hidden = ReadInteger(ArchitectureKey + "." + HiddenKey);
        Check(ModelArchitecture.HiddenSizeProblem(hidden));

        ExpectKey(ref map, EmbeddingKey);
        long embedding = ReadInteger(ArchitectureKey + "." + EmbeddingKey);
        Check(ModelArchitecture.EmbeddingSizeProblem(embedding));

        ExpectKey(ref map, VocabularyKey);
        int[] vocabulary = ReadVocabulary(ArchitectureKey + "." + VocabularyKey);

        CloseMap(ref map);
        return ModelArchitecture.FromValidatedParts(cell, (int)layers, (int)hidden, (int)embedding, vocabulary);
    }

    private int[] ReadVocabulary(string path)
    {
        int count = ReadArrayHeader(path, 1, ModelArchitecture.MaxVocabularySize);
        var vocabulary = new int[count];
        var firstIdOf = new Dictionary<int, int>(count);
        for (int i = 0; i < count; i++)
        {
            long scalar = ReadInteger(path, i);
            Check(ModelArchitecture.VocabularyEntryProblem(i, scalar, firstIdOf));
            vocabulary[i] = (int)scalar;
        }
        return vocabulary;
    }

    private ModelTensor[] ReadTensors(IReadOnlyList<TensorSpec> specs)
    {
        ReadArrayHeader(TensorsKey, specs.Count, specs.Count);
        var tensors = new ModelTensor[specs.Count];
        TensorDType? matrixDType = null;
        for (int i = 0; i < specs.Count; i++)
        {
            tensors[i] = ReadTensor($"{TensorsKey}[{i}]", specs[i], matrixDType);
            if (specs[i].Shape.Count == 2) matrixDType = tensors[i].DType;
        }
        return tensors;
    }

    private ModelTensor ReadTensor(string path, TensorSpec spec, TensorDType? matrixDType)
    {
        var map = OpenMap(path, TensorKeys, depth: 3);

        ExpectKey(ref map, NameKey);
        string name = ReadString(path + "." + NameKey, ModelFile.MaxKeyBytes);
        if (name != spec.Name) throw Fail($"expected tensor \"{spec.Name}\" here (tensors follow the architecture's canonical order), found \"{name}\"");

        ExpectKey(ref map, DTypeKey);
        long dtype = ReadInteger(path + "." + DTypeKey);
        Check(TensorEncoding.DTypeProblem(dtype, spec.Shape.Count, matrixDType));

        ExpectKey(ref map, ShapeKey);
        int[] shape = ReadShape(path + "." + ShapeKey, spec);
        Check(ModelFile.TensorElementsProblem(spec.ElementCount));

        ExpectKey(ref map, DataKey);
        bool decode = _decodeFloat32 && (TensorDType)dtype == TensorDType.F32;
        var (start, length) = ReadBinary(path + "." + DataKey, TensorEncoding.DataBytes((TensorDType)dtype, shape), fill: !decode || _incoming is null);
        EndPhase("parse");
        // A streamed f32 payload never reaches the buffer: the tensor's bytes are its floats, and its Data stays empty.
        var memory = decode && _incoming is not null ? ReadOnlyMemory<byte>.Empty : _bytes.Slice(start, length);
        ArraySegment<float> floats = default;
        string? problem;
        long offset = 0;
        if (decode)
        {
            // Every element is written by the decoding. Matrices start a cache line, for the kernels' loads; vectors are plain arrays.
            floats = shape.Length == 2 ? AlignedArray.Create<float>(length / sizeof(float)) : UninitializedArray.Create<float>(length / sizeof(float));
            problem = CopyAndCheckFloat32(spec.Name, start, memory, floats, out offset);
            EndPhase("copy_and_check_f32");
        }
        else
        {
            problem = TensorEncoding.ValueProblem(spec.Name, (TensorDType)dtype, shape, memory.Span, out offset);
            EndPhase("check_values");
        }
        if (problem is not null)
        {
            _at = start + offset;
            throw Fail(problem);
        }
        _payloads.Add((start, length));

        CloseMap(ref map);
        var tensor = ModelTensor.Adopt(name, (TensorDType)dtype, shape, _ownsBuffer || decode ? memory : memory.ToArray(), floats);
        if (!decode) _digest!.Add(tensor.Data, floats: default);
        EndPhase("copy_tensor_bytes");
        return tensor;
    }

    /// <summary>
    /// Copies the f32 payload at <paramref name="payloadStart"/> (<paramref name="data"/>, or the stream's next bytes
    /// when streamed) into <paramref name="floats"/>, checking each part as it is copied and handing it to the digest
    /// at once, so the helper thread hashes right behind the copy. Returns the problem with the first NaN or infinity
    /// (its byte offset in the payload in <paramref name="offset"/>), or null.
    /// </summary>
    private string? CopyAndCheckFloat32(string name, int payloadStart, ReadOnlyMemory<byte> data, Memory<float> floats, out long offset)
    {
        int length = floats.Length * sizeof(float);
        for (int start = 0; start < length; start += TensorDigest.PieceBytes)
        {
            int bytes = Math.Min(TensorDigest.PieceBytes, length - start);
            ReadOnlyMemory<byte> part = data.IsEmpty ? data : data.Slice(start, bytes);
            Memory<float> copy = floats.Slice(start / sizeof(float), bytes / sizeof(float));
            int index;
            if (_incoming is null)
            {
                index = LittleEndianFloat32.DecodeFinite(part.Span, copy.Span);
            }
            else
            {
                _incoming.ReadPayload(payloadStart + start, MemoryMarshal.AsBytes(copy.Span));
                index = LittleEndianFloat32.IndexOfNonFinite(copy.Span);
            }
            if (index >= 0)
            {
                offset = start + (long)index * sizeof(float);
                return TensorEncoding.NonFiniteElementProblem(name, start / sizeof(float) + index, LittleEndianFloat32.DescribeNonFinite(copy.Span[index]));
            }
            _digest!.Add(part, copy);
        }
        offset = 0;
        return null;
    }

    private int[] ReadShape(string path, TensorSpec spec)
    {
        int rank = ReadArrayHeader(path, spec.Shape.Count, spec.Shape.Count);
        var shape = new int[rank];
        for (int d = 0; d < rank; d++)
        {
            long dim = ReadInteger(path, d);
            if (dim != spec.Shape[d]) throw Fail($"{spec.Name} must have shape ({string.Join(", ", spec.Shape)}) for this architecture; dimension {d} is {dim}");
            shape[d] = (int)dim;
        }
        return shape;
    }

    private SortedDictionary<string, MetadataValue> ReadMetadata()
    {
        int count = ReadMapHeader(MetadataKey, ModelFile.MaxMetadataEntries);
        var metadata = new SortedDictionary<string, MetadataValue>(StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
        {
            string key = ReadString(MetadataKey + " key", ModelFile.MaxKeyBytes);
            Check(ModelFile.MetadataKeyProblem(key));
            if (metadata.ContainsKey(key))
            {
                _path = MetadataKey;
                throw Fail($"duplicate key \"{key}\"");
            }
            string path = MetadataKey + "." + key;
            Locate(path);
            switch (_reader.NextMessagePackType)
            {
                case MessagePackType.String:
                    metadata.Add(key, ReadString(path, ModelFile.MaxMetadataStringBytes));
                    break;
                case MessagePackType.Integer:
                case MessagePackType.Float:
                    double number = _reader.ReadDouble();
                    Check(ModelFile.MetadataNumberProblem(number));
                    metadata.Add(key, number);
                    break;
                default:
                    throw Fail($"a metadata value must be a string or a number, found {Describe(_reader.NextCode)}");
            }
        }
        return metadata;
    }

    private byte[] ReadDigest(string path)
    {
        var (start, length) = ReadBinary(path, Sha256Bytes);
        return _bytes.Span.Slice(start, length).ToArray();
    }

    // ---- maps with known keys ----

    /// <summary>A map being read: its known keys in required order, entries left, and unknown keys seen.</summary>
    private struct MapCursor
    {
        public string Path;
        public string[] Known;
        public int Remaining;
        public int Depth;
        public HashSet<string>? Unknown;
    }

    private MapCursor OpenMap(string path, string[] known, int depth)
        => new() { Path = path, Known = known, Remaining = ReadMapHeader(path, known.Length + ModelFile.MaxUnknownKeysPerMap), Depth = depth };

    /// <summary>
    /// Reads keys up to the known key <paramref name="expected"/>, skipping unknown keys (the forward-compatibility
    /// rule), and returns its byte offset. Known keys are required and must come in order, which also makes
    /// duplicates detectable without remembering them.
    /// </summary>
    private long ExpectKey(ref MapCursor map, string expected, bool unknownKeysBefore = true)
    {
        int key = Array.IndexOf(map.Known, expected);
        while (true)
        {
            if (map.Remaining == 0)
            {
                Locate(map.Path);
                throw Fail($"missing required key \"{expected}\"");
            }
            long keyAt = _reader.Consumed;
            string name = ReadKey(map);
            map.Remaining--;
            int index = Array.IndexOf(map.Known, name);
            if (index == key) return keyAt;
            _path = map.Path;
            if (index >= 0 && index < key) throw Fail($"duplicate key \"{name}\"");
            if (index > key) throw Fail($"missing required key \"{expected}\" (found \"{name}\", which must come after it)");
            if (!unknownKeysBefore) throw Fail($"expected key \"{expected}\" here, found \"{name}\"");
            SkipUnknown(ref map, name);
        }
    }

    /// <summary>Reads the entries after the last known key: only unknown keys may remain.</summary>
    private void CloseMap(ref MapCursor map, bool unknownKeysAfter = true)
    {
        while (map.Remaining > 0)
        {
            string name = ReadKey(map);
            map.Remaining--;
            _path = map.Path;
            if (Array.IndexOf(map.Known, name) >= 0) throw Fail($"duplicate key \"{name}\"");
            if (!unknownKeysAfter) throw Fail($"\"{map.Known[map.Known.Length - 1]}\" must be the last key, found \"{name}\" after it");
            SkipUnknown(ref map, name);
        }
    }

    private string ReadKey(in MapCursor map) => ReadString(map.Path.Length == 0 ? "top-level key" : map.Path + " key", ModelFile.MaxKeyBytes);

    private void SkipUnknown(ref MapCursor map, string name)
    {
        map.Unknown ??= new HashSet<string>(StringComparer.Ordinal);
        if (!map.Unknown.Add(name)) throw Fail($"duplicate key \"{name}\"");
        SkipValue(map.Path.Length == 0 ? name : map.Path + "." + name, map.Depth);
    }

    /// <summary>
    /// Skips one value of an unknown key. <see cref="MessagePackReader.Skip"/> recurses once per nesting level with
    /// no limit, so a hostile file of nested arrays could overflow the stack; this walk keeps its own stack of
    /// pending element counts, bounded by <see cref="ModelFile.MaxNestingDepth"/>.
    /// </summary>
    private void SkipValue(string path, int containerDepth)
    {
        Span<long> pending = stackalloc long[ModelFile.MaxNestingDepth + 1];
        int level = 0;
        pending[0] = 1;
        while (level >= 0)
        {
            if (pending[level] == 0)
            {
                level--;
                continue;
            }
            pending[level]--;
            Locate(path);
            byte code = _reader.NextCode;
            var type = _reader.NextMessagePackType;
            if (type is MessagePackType.Array or MessagePackType.Map)
            {
                if (containerDepth + level + 1 > ModelFile.MaxNestingDepth) throw Fail($"values nest deeper than {ModelFile.MaxNestingDepth} levels");
                pending[++level] = type == MessagePackType.Array
                    ? ReadArrayHeader(path, 0, int.MaxValue)
                    : 2L * ReadMapHeader(path, int.MaxValue);
            }
            else if (StringPrefixBytes(code) is int stringPrefix and >= 0)
            {
                SkipPayload(ReadLengthPrefix(stringPrefix));
            }
            else if (BinaryPrefixBytes(code) is int binaryPrefix and >= 0)
            {
                SkipPayload(ReadLengthPrefix(binaryPrefix));
            }
            else
            {
                // Fixed-size scalars and extensions, whose lengths are unsigned and checked by the library.
                _reader.Skip();
            }
        }
    }

    // ---- primitives: each records where it reads, then checks its header before using it ----

    private int ReadMapHeader(string path, int maxCount)
    {
        Locate(path);
        if (_reader.NextMessagePackType != MessagePackType.Map) throw Fail($"expected a map, found {Describe(_reader.NextCode)}");
        if (!_reader.TryReadMapHeader(out int count)) throw new EndOfStreamException();
        if (count < 0 || count > maxCount) throw Fail($"the map declares {(uint)count} entries; at most {maxCount} are allowed here");
        if (2L * count > Remaining) throw Fail($"the map declares {count} entries but only {Remaining} bytes remain{TruncatedOrCorrupt}");
        return count;
    }

    private int ReadArrayHeader(string path, int minCount, int maxCount)
    {
        Locate(path);
        if (_reader.NextMessagePackType != MessagePackType.Array) throw Fail($"expected an array, found {Describe(_reader.NextCode)}");
        // TryReadArrayHeader rather than ReadArrayHeader: the latter reads an array32 count of 2^31 or more as a negative
        // number and lets it through its own remaining-bytes check.
        if (!_reader.TryReadArrayHeader(out int count)) throw new EndOfStreamException();
        if (count < minCount || count > maxCount || count < 0)
        {
            throw Fail(minCount == maxCount
                ? $"expected an array of {minCount} elements, found {(uint)count}"
                : $"the array declares {(uint)count} elements; {minCount} to {maxCount} are allowed here");
        }
        if (count > Remaining) throw Fail($"the array declares {count} elements but only {Remaining} bytes remain{TruncatedOrCorrupt}");
        return count;
    }

    private long ReadInteger(string path, int index = -1)
    {
        Locate(path, index);
        if (_reader.NextMessagePackType != MessagePackType.Integer) throw Fail($"expected an integer, found {Describe(_reader.NextCode)}");
        return _reader.ReadInt64();
    }

    private string ReadString(string path, int maxBytes)
    {
        Locate(path);
        int prefix = StringPrefixBytes(_reader.NextCode);
        if (prefix < 0) throw Fail($"expected a string, found {Describe(_reader.NextCode)}");
        long length = ReadLengthPrefix(prefix);
        if (length > maxBytes) throw Fail($"the string is {length} bytes long; at most {maxBytes} are allowed here");
        int start = (int)_reader.Consumed;
        SkipPayload(length);
        try
        {
            return Utf8.GetString(_bytes.Span.Slice(start, (int)length));
        }
        catch (DecoderFallbackException e)
        {
            throw Fail("the string is not valid UTF-8", e);
        }
    }

    /// <summary>Reads a bin value that must hold exactly <paramref name="expectedLength"/> bytes; returns where they are.</summary>
    private (int Start, int Length) ReadBinary(string path, long expectedLength, bool fill = true)
    {
        Locate(path);
        int prefix = BinaryPrefixBytes(_reader.NextCode);
        if (prefix < 0) throw Fail($"expected binary data, found {Describe(_reader.NextCode)}");
        long length = ReadLengthPrefix(prefix);
        if (length != expectedLength) throw Fail($"expected {expectedLength} bytes of binary data, found a length of {length}");
        int start = (int)_reader.Consumed;
        SkipPayload(length, fill);
        return (start, (int)length);
    }

    /// <summary>
    /// Reads a str or bin header and returns the payload length as an unsigned number. Done by hand because the
    /// library reads a 32-bit length of 2^31 or more as a negative int, which then fails as an
    /// <see cref="ArgumentOutOfRangeException"/> rather than as a format error.
    /// </summary>
    private long ReadLengthPrefix(int prefixBytes)
    {
        int at = (int)_reader.Consumed;
        if (Remaining < 1 + prefixBytes) throw new EndOfStreamException();
        ReadOnlySpan<byte> header = _bytes.Span.Slice(at, 1 + prefixBytes);
        long length = prefixBytes switch
        {
            0 => header[0] & 0x1F,
            1 => header[1],
            2 => BinaryPrimitives.ReadUInt16BigEndian(header.Slice(1)),
            _ => BinaryPrimitives.ReadUInt32BigEndian(header.Slice(1)),
        };
        _reader.ReadRaw(1 + prefixBytes);
        return length;
    }

    /// <summary>Moves past <paramref name="length"/> bytes of payload, making them readable first unless <paramref name="fill"/> is false.</summary>
    private void SkipPayload(long length, bool fill = true)
    {
        if (length > Remaining) throw Fail($"the value declares {length} bytes but only {Remaining} remain{TruncatedOrCorrupt}");
        if (fill) _incoming?.Fill(_reader.Consumed + length);
        _reader.ReadRaw(length);
    }

    private long Remaining => _bytes.Length - _reader.Consumed;

    private const string TruncatedOrCorrupt = ": the file is truncated or the length is corrupt";

    /// <summary>Bytes after the type code of a str value: fixstr 0, str8 1, str16 2, str32 4; -1 when not a string.</summary>
    private static int StringPrefixBytes(byte code) => code switch
    {
        >= MessagePackCode.MinFixStr and <= MessagePackCode.MaxFixStr => 0,
        MessagePackCode.Str8 => 1,
        MessagePackCode.Str16 => 2,
        MessagePackCode.Str32 => 4,
        _ => -1,
    };

    /// <summary>Bytes after the type code of a bin value: bin8 1, bin16 2, bin32 4; -1 when not binary.</summary>
    private static int BinaryPrefixBytes(byte code) => code switch
    {
        MessagePackCode.Bin8 => 1,
        MessagePackCode.Bin16 => 2,
        MessagePackCode.Bin32 => 4,
        _ => -1,
    };

    private static string Describe(byte code) => $"{MessagePackCode.ToFormatName(code)} (type byte 0x{code:X2})";

    private void EndPhase(string phase) => _phaseStart = _profile.Lap(phase, _phaseStart);

    // ---- locations and errors ----

    /// <summary>Longest MessagePack header the reader reads after a <see cref="Locate"/>: a type byte and a 64-bit number.</summary>
    private const int LongestHeaderBytes = 9;

    // Every read of a header starts here, so this is where a streamed file is read far enough for it.
    private void Locate(string path, int index = -1)
    {
        _path = path;
        _index = index;
        _at = _reader.Consumed;
        _incoming?.Fill(_reader.Consumed + LongestHeaderBytes);
    }

    private void Check(string? problem)
    {
        if (problem is not null) throw Fail(problem);
    }

    private ModelFormatException Fail(string problem, Exception? inner = null)
        => new(_source, _index < 0 ? _path : $"{_path}[{_index}]", _at, _problemPrefix + problem, inner);
}
