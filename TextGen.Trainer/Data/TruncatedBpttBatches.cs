using TorchSharp;
using static TorchSharp.torch;

namespace TextGen.Trainer.Data;

/// <summary>Where the batch walk stands; with the carried hidden state it is all a resume needs to continue exactly.</summary>
/// <param name="Epoch">Completed passes over the training split.</param>
/// <param name="Chunk">Index of the next chunk within this epoch.</param>
/// <param name="Phase">This epoch's start offset inside every stream, so chunk borders move from epoch to epoch.</param>
/// <param name="RandomState">SplitMix64 state that draws the next epoch's phase.</param>
internal readonly record struct BatchCursor(long Epoch, int Chunk, int Phase, ulong RandomState);

/// <summary>One training chunk: ids at time t of stream b, and the ids that follow them.</summary>
/// <param name="Inputs">(seq, streams) int64 ids.</param>
/// <param name="Targets">(seq, streams) int64 ids, each one position after its input.</param>
/// <param name="StartsEpoch">Every stream went back to its start, so the carried hidden state must be zeroed.</param>
internal sealed record Batch(Tensor Inputs, Tensor Targets, bool StartsEpoch);

/// <summary>
/// Truncated backpropagation through time over the training split: the split is cut into B equal streams that are
/// read side by side, seq-len characters per step. Chunk k+1 of a stream continues exactly where chunk k ended, so
/// the hidden state a stream ends a chunk with is the right state to start its next chunk with (carried, detached).
/// </summary>
internal sealed class TruncatedBpttBatches
{
    private readonly int[] _ids; // (train_length) vocabulary ids of the training split

    /// <summary>Creates the walk over <paramref name="trainingIds"/> continuing from <paramref name="cursor"/>.</summary>
    /// <exception cref="ArgumentException">The split is too short for one chunk per stream.</exception>
    public TruncatedBpttBatches(int[] trainingIds, int streams, int seqLen, BatchCursor cursor)
    {
        if (trainingIds.Length < MinimumLength(streams, seqLen))
        {
            throw new ArgumentException($"{trainingIds.Length} training characters cannot fill {streams} streams of {seqLen}", nameof(trainingIds));
        }
        _ids = trainingIds;
        Streams = streams;
        SeqLen = seqLen;
        StreamLength = (trainingIds.Length - 1) / streams;
        Cursor = cursor;
    }

    /// <summary>The cursor of a fresh run: epoch 0 starts at every stream's first character.</summary>
    public static BatchCursor Start(long seed) => new(0, 0, 0, unchecked((ulong)seed));

    /// <summary>Characters a training split needs for one chunk in every stream: batch × seq-len inputs plus the last target.</summary>
    public static long MinimumLength(int streams, int seqLen) => (long)streams * seqLen + 1;

    /// <summary>Parallel streams (the batch size B).</summary>
    public int Streams { get; }

    /// <summary>Characters per stream and chunk.</summary>
    public int SeqLen { get; }

    /// <summary>Input positions per stream; stream b reads ids [b·L, b·L + L] (its last target is the next stream's first input).</summary>
    public int StreamLength { get; }

    /// <summary>The position of the next chunk.</summary>
    public BatchCursor Cursor { get; private set; }

    /// <summary>Epochs completed, with the fraction of the current one.</summary>
    public double EpochProgress => Cursor.Epoch + (double)Cursor.Chunk / ChunksPerEpoch(Cursor.Phase);

    /// <summary>Characters predicted per step.</summary>
    public int CharactersPerBatch => Streams * SeqLen;

    /// <summary>Builds the next chunk and advances the cursor.</summary>
    public Batch Next()
    {
        var cursor = Cursor;
        int offset = cursor.Phase + cursor.Chunk * SeqLen;
        var inputs = new long[SeqLen * Streams];
        var targets = new long[SeqLen * Streams];
        for (int t = 0; t < SeqLen; t++)
        {
            for (int b = 0; b < Streams; b++)
            {
                int position = b * StreamLength + offset + t;
                inputs[t * Streams + b] = _ids[position];
                targets[t * Streams + b] = _ids[position + 1];
            }
        }
        Cursor = Advance(cursor);
        return new Batch(tensor(inputs, new long[] { SeqLen, Streams }), tensor(targets, new long[] { SeqLen, Streams }), cursor.Chunk == 0);
    }

    private int ChunksPerEpoch(int phase) => (StreamLength - phase) / SeqLen;

    private BatchCursor Advance(BatchCursor cursor)
    {
        if (cursor.Chunk + 1 < ChunksPerEpoch(cursor.Phase)) return cursor with { Chunk = cursor.Chunk + 1 };
        ulong random = cursor.RandomState;
        int phases = Math.Min(SeqLen, StreamLength - SeqLen + 1);
        int phase = (int)(SplitMix64(ref random) % (ulong)phases); // bias is below 2^-50 for any phase count here
        return new BatchCursor(cursor.Epoch + 1, 0, phase, random);
    }

    // SplitMix64 (Steele, Lea, Flood 2014): a 64-bit state that a checkpoint stores as one number.
    private static ulong SplitMix64(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
