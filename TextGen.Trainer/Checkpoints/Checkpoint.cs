using System.Text.Json;
using TextGen.Runtime.Format;
using TextGen.Trainer.Data;
using TextGen.Trainer.Model;
using TextGen.Trainer.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TextGen.Trainer.Checkpoints;

/// <summary>
/// One checkpoint directory: <c>checkpoint.json</c> (<see cref="CheckpointState"/>: step, config, vocabulary, data
/// cursor, schedule and guard state), <c>model.bin</c> (weights), <c>optimizer.bin</c> (Adam's moments and step
/// counts), <c>hidden.bin</c> (the carried hidden state of every stream), <c>rng.bin</c> (torch's generator) and,
/// once <c>--average-from</c> is reached, <c>average.bin</c> (the running mean of the weights).
/// Written as <c>NAME.tmp</c> and renamed into place, so a crash at any moment leaves a complete checkpoint.
/// </summary>
internal sealed class Checkpoint
{
    /// <summary>Directory name of the latest checkpoint inside a run directory.</summary>
    public const string LatestName = "checkpoint";

    /// <summary>Directory name of the best-validation checkpoint (with --keep-best).</summary>
    public const string BestName = "best";

    private const string StateFile = "checkpoint.json";
    private const string ModelFile = "model.bin";
    private const string OptimizerFile = "optimizer.bin";
    private const string HiddenFile = "hidden.bin";
    private const string RandomFile = "rng.bin";
    private const string AverageFile = "average.bin";
    private const string TempSuffix = ".tmp";
    private const string OldSuffix = ".old";

    private Checkpoint(string directory, CheckpointState state)
    {
        Directory = directory;
        State = state;
    }

    /// <summary>The checkpoint directory.</summary>
    public string Directory { get; }

    /// <summary>Its <c>checkpoint.json</c>.</summary>
    public CheckpointState State { get; }

    /// <summary>
    /// Writes a checkpoint to <paramref name="runDirectory"/>/<paramref name="name"/>: every file into
    /// <c>NAME.tmp</c>, flushed to disk, <c>checkpoint.json</c> last; then the previous checkpoint moves to
    /// <c>NAME.old</c>, <c>NAME.tmp</c> becomes <c>NAME</c> and <c>NAME.old</c> is deleted. <see cref="Open"/>
    /// falls back to <c>NAME.old</c> when a crash struck between the two renames.
    /// </summary>
    /// <exception cref="CheckpointException">Anything could not be written; the previous checkpoint is intact and no temporary directory is left (unless deleting it failed too).</exception>
    /// <param name="average">Written when <see cref="CheckpointState.AverageCount"/> is above 0.</param>
    public static void Write(string runDirectory, string name, CheckpointState state, CharModel model, OptimizerHelper optimizer, RecurrentState hidden, WeightAverage average)
    {
        string final = Path.Combine(runDirectory, name), temp = final + TempSuffix, old = final + OldSuffix;
        try
        {
            DeleteDirectory(temp);
            System.IO.Directory.CreateDirectory(temp);
            WriteFile(temp, ModelFile, stream => model.save(Writer(stream)));
            WriteFile(temp, OptimizerFile, stream => optimizer.save_state_dict(Writer(stream)));
            WriteFile(temp, HiddenFile, stream => WriteTensors(stream, hidden.Tensors()));
            WriteFile(temp, RandomFile, stream =>
            {
                using var random = torch.get_rng_state();
                WriteTensors(stream, new[] { random });
            });
            if (state.AverageCount > 0) WriteFile(temp, AverageFile, stream => WriteTensors(stream, average.Mean));
            WriteFile(temp, StateFile, stream => JsonSerializer.Serialize(stream, state, TrainerJson.Default.CheckpointState));

            if (System.IO.Directory.Exists(final))
            {
                DeleteDirectory(old);
                System.IO.Directory.Move(final, old);
            }
            System.IO.Directory.Move(temp, final);
            DeleteDirectory(old);
        }
        catch (Exception e)
        {
            // Whatever failed (a full disk is an IOException, a file-size limit an ArgumentOutOfRangeException,
            // TorchSharp has its own), the checkpoint was not written and the temporary directory must go.
            try
            {
                DeleteDirectory(temp);
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
            {
                // The write error below is the one worth reporting; a leftover NAME.tmp is never read.
            }
            throw new CheckpointException(final, $"cannot write checkpoint: {FileSystemError.Describe(e)}", e);
        }
    }

    /// <summary>
    /// Clears what a kill during <see cref="Write"/> left of <paramref name="runDirectory"/>/<paramref name="name"/>,
    /// keeping the checkpoint <see cref="Open"/> reads: <c>NAME.old</c> becomes <c>NAME</c> again when <c>NAME</c> is
    /// missing (a kill between the two renames), then the unfinished <c>NAME.tmp</c> and a superseded <c>NAME.old</c>
    /// are deleted. Where <c>NAME</c> is not complete (no <c>checkpoint.json</c>), nothing is deleted. Without this, a
    /// <c>best</c> write cut short stays in the directory until the validation loss next improves, which may be
    /// never. Call it only under the run's lock (<see cref="RunLock"/>).
    /// </summary>
    public static void Tidy(string runDirectory, string name)
    {
        string final = Path.Combine(runDirectory, name), temp = final + TempSuffix, old = final + OldSuffix;
        if (!IsComplete(final))
        {
            // NAME missing (a kill between the renames) beside a complete NAME.old, which Open would read: it goes
            // back to NAME. A NAME without its checkpoint.json (damaged), or no complete NAME.old: nothing is
            // touched, and Open reads the complete one or names what is wrong.
            if (System.IO.Directory.Exists(final) || !IsComplete(old)) return;
            System.IO.Directory.Move(old, final);
        }
        DeleteDirectory(temp);
        DeleteDirectory(old);
    }

    /// <summary>
    /// Opens the checkpoint at <paramref name="path"/>: a checkpoint directory itself, or a run directory, whose
    /// latest checkpoint is used (or the previous one when a crash interrupted the last write).
    /// </summary>
    /// <exception cref="CheckpointException">No complete checkpoint is there, or its state is unreadable or invalid.</exception>
    public static Checkpoint Open(string path)
    {
        string directory = Require(path);
        CheckpointState? state;
        try
        {
            using var stream = File.OpenRead(Path.Combine(directory, StateFile));
            state = JsonSerializer.Deserialize(stream, TrainerJson.Default.CheckpointState);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or NotSupportedException)
        {
            throw new CheckpointException(directory, $"{StateFile} cannot be read: {e.Message}", e);
        }
        if (state is null) throw new CheckpointException(directory, $"{StateFile} is empty");
        if (state.Format != CheckpointState.CurrentFormat) throw new CheckpointException(directory, $"checkpoint format {state.Format} is not supported (this trainer reads {CheckpointState.CurrentFormat})");
        var problems = state.Config.Problems();
        if (problems.Count > 0) throw new CheckpointException(directory, $"{StateFile} holds an invalid config: {string.Join("; ", problems)}");
        try
        {
            _ = new Vocabulary(state.Vocabulary);
            _ = new ModelArchitecture(state.Config.Arch, state.Config.Layers, state.Config.Hidden, state.Config.Embedding, state.Vocabulary);
        }
        catch (ArgumentException e)
        {
            throw new CheckpointException(directory, $"{StateFile} holds an invalid vocabulary: {e.Message}", e);
        }
        return new Checkpoint(directory, state);
    }

    /// <summary>The complete checkpoint directory at <paramref name="path"/> (<see cref="Find"/>).</summary>
    /// <exception cref="CheckpointException">There is none; the message says why (no directory, a file, an unfinished first checkpoint).</exception>
    public static string Require(string path) => Find(path) ?? throw new CheckpointException(path, Missing(path));

    /// <summary>
    /// The complete checkpoint directory at <paramref name="path"/>, or null when there is none: the path itself,
    /// else a run directory's latest checkpoint, else its <c>.old</c> twin. A checkpoint directory given by name
    /// (<c>DIR/best</c>) that a crash caught between the two renames exists only as its <c>.old</c> twin.
    /// </summary>
    public static string? Find(string path)
    {
        string trimmed = Path.TrimEndingDirectorySeparator(path);
        if (IsComplete(trimmed)) return trimmed;
        if (System.IO.Directory.Exists(trimmed)) return FindLatest(trimmed);
        return IsComplete(trimmed + OldSuffix) ? trimmed + OldSuffix : null;
    }

    /// <summary>
    /// The latest complete checkpoint of the run in <paramref name="runDirectory"/>: <c>checkpoint/</c>, else its
    /// <c>.old</c> twin; null when there is none. Unlike <see cref="Find"/>, a checkpoint directory is not a run.
    /// </summary>
    public static string? FindLatest(string runDirectory)
    {
        string latest = Path.Combine(runDirectory, LatestName);
        return IsComplete(latest) ? latest : IsComplete(latest + OldSuffix) ? latest + OldSuffix : null;
    }

    // Complete: checkpoint.json, written last, is there.
    private static bool IsComplete(string directory) => File.Exists(Path.Combine(directory, StateFile));

    private static string Missing(string path)
    {
        if (File.Exists(path)) return "is a file, not a run or checkpoint directory";
        if (!System.IO.Directory.Exists(path)) return "no such directory";
        // A run stopped while writing its first checkpoint has nothing to resume, and train refuses the non-empty
        // directory; saying so is the only way out of that loop.
        return System.IO.Directory.Exists(Path.Combine(path, LatestName + TempSuffix))
            ? $"holds no complete checkpoint: the run was stopped while writing its first one ({LatestName}{TempSuffix}/); delete the directory and start again with train"
            : $"holds no checkpoint (no {StateFile} in it or in {LatestName}/)";
    }

    /// <summary>Loads the trained (not averaged) weights into <paramref name="model"/>, which must have the checkpoint's architecture.</summary>
    public void LoadModel(CharModel model) => Read(ModelFile, stream => model.load(Reader(stream)));

    /// <summary>
    /// Loads the weights this checkpoint stands for into <paramref name="model"/>: the running mean when the run
    /// averages and has begun to, else the trained weights. Validation scored these and export writes them.
    /// </summary>
    public void LoadWeights(CharModel model)
    {
        LoadModel(model);
        if (State.AverageCount == 0) return;
        using var average = new WeightAverage(model);
        LoadAverage(average);
        average.Apply();
    }

    /// <summary>Sets <paramref name="average"/> to the checkpoint's running mean, or empties it when there is none.</summary>
    public void LoadAverage(WeightAverage average)
    {
        if (State.AverageCount == 0)
        {
            average.Clear();
            return;
        }
        var tensors = Read(AverageFile, stream => ReadTensors(stream, average.Mean.Count));
        try
        {
            average.Load(tensors, State.AverageCount);
        }
        catch (ArgumentException e)
        {
            throw new CheckpointException(Path.Combine(Directory, AverageFile), $"does not match the model: {e.Message}", e);
        }
        finally
        {
            foreach (var t in tensors) t.Dispose();
        }
    }

    /// <summary>Loads Adam's moments and step counts into the run's one optimizer.</summary>
    public void LoadOptimizer(OptimizerHelper optimizer) => Read(OptimizerFile, stream => optimizer.load_state_dict(Reader(stream)));

    /// <summary>The carried hidden state, checked against the model's shape and the stream count.</summary>
    public RecurrentState LoadHidden(CharModel model, int streams)
    {
        var tensors = Read(HiddenFile, stream => ReadTensors(stream, 2));
        var expected = new long[] { model.Architecture.Layers, streams, model.Architecture.HiddenSize };
        int count = model.Architecture.StateVectorsPerLayer;
        if (tensors.Count != count || tensors.Any(t => !t.shape.SequenceEqual(expected)))
        {
            foreach (var t in tensors) t.Dispose();
            throw new CheckpointException(Directory, $"{HiddenFile} does not hold {count} tensor(s) of shape ({string.Join(", ", expected)})");
        }
        return new RecurrentState(tensors[0], count == 2 ? tensors[1] : null);
    }

    /// <summary>Puts torch's global generator (dropout's randomness) back where it was.</summary>
    public void RestoreTorchRandom()
    {
        var tensors = Read(RandomFile, stream => ReadTensors(stream, 1));
        if (tensors.Count != 1) throw new CheckpointException(Directory, $"{RandomFile} does not hold one generator state");
        using var state = tensors[0];
        torch.set_rng_state(state);
    }

    private void Read(string file, Action<Stream> read) => Read<int>(file, stream =>
    {
        read(stream);
        return 0;
    });

    private T Read<T>(string file, Func<Stream, T> read)
    {
        string path = Path.Combine(Directory, file);
        try
        {
            using var stream = File.OpenRead(path);
            return read(stream);
        }
        catch (Exception e) when (e is not CheckpointException)
        {
            // TorchSharp reports a truncated or mismatched file with assorted exception types; all mean the same here.
            throw new CheckpointException(path, $"cannot be loaded: {e.Message}", e);
        }
    }

    private static void WriteFile(string directory, string name, Action<Stream> write)
    {
        using var stream = new FileStream(Path.Combine(directory, name), FileMode.CreateNew, FileAccess.Write);
        write(stream);
        stream.Flush(flushToDisk: true);
    }

    // TorchSharp's Stream overloads close the stream, which must stay open to be flushed to disk; its
    // BinaryWriter/BinaryReader overloads leave them open.
    private static BinaryWriter Writer(Stream stream) => new(stream, System.Text.Encoding.UTF8, leaveOpen: true);

    private static BinaryReader Reader(Stream stream) => new(stream, System.Text.Encoding.UTF8, leaveOpen: true);

    private static void WriteTensors(Stream stream, IEnumerable<Tensor> tensors)
    {
        var writer = Writer(stream);
        var list = tensors.ToList();
        writer.Write(list.Count);
        foreach (var t in list) t.Save(writer);
    }

    private static List<Tensor> ReadTensors(Stream stream, int maxCount)
    {
        var reader = Reader(stream);
        int count = reader.ReadInt32();
        if (count < 0 || count > maxCount) throw new InvalidDataException($"tensor count {count} is out of range");
        var tensors = new List<Tensor>(count);
        for (int i = 0; i < count; i++) tensors.Add(TensorExtensionMethods.Load(reader).DetachFromDisposeScope());
        return tensors;
    }

    private static void DeleteDirectory(string path)
    {
        if (System.IO.Directory.Exists(path)) System.IO.Directory.Delete(path, recursive: true);
    }
}
