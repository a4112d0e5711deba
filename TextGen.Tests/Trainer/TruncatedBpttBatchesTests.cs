using TextGen.Trainer.Data;

namespace TextGen.Tests.Trainer;

public sealed class TruncatedBpttBatchesTests
{
    // ids equal to their positions make every expected value readable: the id at position p is p.
    private static int[] Positions(int length) => Enumerable.Range(0, length).ToArray();

    private static long[,] Read(TorchSharp.torch.Tensor t)
    {
        var values = t.data<long>().ToArray();
        var result = new long[t.shape[0], t.shape[1]];
        for (int i = 0; i < values.Length; i++) result[i / t.shape[1], i % t.shape[1]] = values[i];
        return result;
    }

    [Test]
    public void StreamsAreContiguousSlicesReadSideBySide()
    {
        var batches = new TruncatedBpttBatches(Positions(101), streams: 4, seqLen: 5, TruncatedBpttBatches.Start(1));
        Assert.That(batches.StreamLength, Is.EqualTo(25)); // (101 − 1) / 4

        var first = batches.Next();
        var inputs = Read(first.Inputs);
        var targets = Read(first.Targets);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(first.Inputs.shape, Is.EqualTo(new long[] { 5, 4 }));
            Assert.That(first.StartsEpoch, Is.True);
            for (int t = 0; t < 5; t++)
            {
                for (int b = 0; b < 4; b++)
                {
                    Assert.That(inputs[t, b], Is.EqualTo(b * 25 + t), $"input t={t} b={b}");
                    Assert.That(targets[t, b], Is.EqualTo(b * 25 + t + 1), $"target t={t} b={b}");
                }
            }
        }
    }

    [Test]
    public void EachChunkContinuesWhereTheLastEnded()
    {
        var batches = new TruncatedBpttBatches(Positions(101), streams: 4, seqLen: 5, TruncatedBpttBatches.Start(1));
        var previous = Read(batches.Next().Inputs);
        for (int chunk = 1; chunk < 5; chunk++)
        {
            var batch = batches.Next();
            var inputs = Read(batch.Inputs);
            Assert.That(batch.StartsEpoch, Is.False);
            for (int b = 0; b < 4; b++) Assert.That(inputs[0, b], Is.EqualTo(previous[4, b] + 1), $"chunk {chunk} stream {b}");
            previous = inputs;
        }
    }

    [Test]
    public void NewEpochRestartsStreamsAtARandomPhaseAndTheCursorReplaysIt()
    {
        var batches = new TruncatedBpttBatches(Positions(101), streams: 4, seqLen: 5, TruncatedBpttBatches.Start(9));
        for (int i = 0; i < 5; i++) batches.Next(); // epoch 0: 25 / 5 chunks
        var cursor = batches.Cursor;
        Assert.That(cursor.Epoch, Is.EqualTo(1));
        Assert.That(cursor.Chunk, Is.Zero);
        Assert.That(cursor.Phase, Is.InRange(0, 4));

        var next = batches.Next();
        var replay = new TruncatedBpttBatches(Positions(101), 4, 5, cursor).Next();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(next.StartsEpoch, Is.True);
            Assert.That(Read(next.Inputs)[0, 2], Is.EqualTo(2 * 25 + cursor.Phase));
            Assert.That(Read(replay.Inputs), Is.EqualTo(Read(next.Inputs)));
            Assert.That(batches.EpochProgress, Is.EqualTo(1 + 1.0 / ((25 - cursor.Phase) / 5)).Within(1e-12));
        }
    }

    [Test]
    public void PhasesVaryAcrossEpochs()
    {
        var batches = new TruncatedBpttBatches(Positions(401), streams: 2, seqLen: 10, TruncatedBpttBatches.Start(5));
        var phases = new HashSet<int>();
        while (batches.Cursor.Epoch < 30)
        {
            batches.Next();
            phases.Add(batches.Cursor.Phase);
        }
        Assert.That(phases, Has.Count.GreaterThan(3));
    }

    [Test]
    public void TooShortSplitIsRejected()
    {
        Assert.That(TruncatedBpttBatches.MinimumLength(4, 5), Is.EqualTo(21));
        Assert.That(() => new TruncatedBpttBatches(Positions(20), 4, 5, TruncatedBpttBatches.Start(1)), Throws.ArgumentException);
        Assert.That(() => new TruncatedBpttBatches(Positions(21), 4, 5, TruncatedBpttBatches.Start(1)), Throws.Nothing);
    }
}
