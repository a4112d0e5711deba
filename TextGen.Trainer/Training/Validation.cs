using TextGen.Trainer.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace TextGen.Trainer.Training;

/// <summary>
/// Mean cross-entropy over the whole validation split, computed the same way every time: the split's n−1
/// predictions are cut into equal contiguous streams read side by side from a zero state, and the padding at the
/// end of the last stream is ignored, so every character after the first is scored exactly once.
/// </summary>
internal static class Validation
{
    private const long Ignored = -100; // cross_entropy's ignore_index

    /// <summary>Mean loss in nats per character of <paramref name="model"/> on <paramref name="ids"/>.</summary>
    /// <param name="model">Switched to eval mode (no dropout) for the pass and back to training mode after.</param>
    /// <param name="ids">The validation split as vocabulary ids, at least 2.</param>
    /// <param name="streams">Parallel streams (more is faster; the result barely depends on it).</param>
    /// <param name="seqLen">Characters per stream per forward call.</param>
    public static double Loss(CharModel model, int[] ids, int streams, int seqLen)
    {
        int predictions = ids.Length - 1;
        if (predictions < 1) throw new ArgumentException("validation needs at least two characters", nameof(ids));
        streams = Math.Min(streams, predictions);
        int streamLength = (predictions + streams - 1) / streams;

        double total = 0;
        model.eval();
        try
        {
            using var noGrad = torch.no_grad();
            var state = model.ZeroState(streams);
            for (int offset = 0; offset < streamLength; offset += seqLen)
            {
                using var scope = torch.NewDisposeScope();
                int length = Math.Min(seqLen, streamLength - offset);
                var inputs = new long[length * streams];
                var targets = new long[length * streams];
                for (int t = 0; t < length; t++)
                {
                    for (int b = 0; b < streams; b++)
                    {
                        int position = b * streamLength + offset + t;
                        bool scored = position < predictions;
                        inputs[t * streams + b] = scored ? ids[position] : 0;
                        targets[t * streams + b] = scored ? ids[position + 1] : Ignored;
                    }
                }
                var (logits, next) = model.forward(tensor(inputs, new long[] { length, streams }), state);
                using var loss = nn.functional.cross_entropy(
                    logits.reshape(-1, model.Architecture.VocabularySize),
                    tensor(targets),
                    ignore_index: Ignored,
                    reduction: nn.Reduction.Sum);
                total += loss.item<float>();
                state.Dispose();
                state = next.Detached();
            }
            state.Dispose();
        }
        finally
        {
            model.train();
        }
        return total / predictions;
    }
}
