namespace TextGen.Trainer.Data;

/// <summary>A corpus encoded with its vocabulary and split: the first part trains, the last part validates.</summary>
internal sealed class TrainingData
{
    private TrainingData(Vocabulary vocabulary, int[] training, int[] validation)
    {
        Vocabulary = vocabulary;
        Training = training;
        Validation = validation;
    }

    /// <summary>The characters and their ids.</summary>
    public Vocabulary Vocabulary { get; }

    /// <summary>(train_length) ids of the first 1 − f of the corpus.</summary>
    public int[] Training { get; }

    /// <summary>(val_length) ids of the last f of the corpus.</summary>
    public int[] Validation { get; }

    /// <summary>Encodes and splits <paramref name="corpus"/>, checking that both parts are long enough.</summary>
    /// <param name="corpus">The text.</param>
    /// <param name="validationFraction">f, the share at the end that validates.</param>
    /// <param name="batch">Streams per step.</param>
    /// <param name="seqLen">Characters per stream per step.</param>
    /// <param name="vocabulary">A checkpoint's vocabulary, or null to build one from the corpus.</param>
    /// <exception cref="CorpusException">A part is too short, or the corpus uses characters outside <paramref name="vocabulary"/>.</exception>
    public static TrainingData Split(Corpus corpus, double validationFraction, int batch, int seqLen, Vocabulary? vocabulary = null)
    {
        int total = corpus.Scalars.Length;
        int trainLength = Corpus.TrainingLength(total, validationFraction);
        long needed = TruncatedBpttBatches.MinimumLength(batch, seqLen);
        if (trainLength < needed)
        {
            throw new CorpusException(corpus.Path,
                $"is too short: it has {total} characters, so its training part (the first {1 - validationFraction:0.##%}) has {trainLength}, " +
                $"but one batch needs {needed} (--batch {batch} × --seq-len {seqLen} + 1); use a longer text or smaller --batch/--seq-len");
        }
        if (total - trainLength < 2)
        {
            throw new CorpusException(corpus.Path,
                $"is too short for validation: --val-fraction {validationFraction} leaves {total - trainLength} character(s) and validation needs at least 2");
        }

        vocabulary ??= Vocabulary.Of(corpus.Scalars);
        int[] ids;
        try
        {
            ids = vocabulary.Encode(corpus.Scalars);
        }
        catch (ArgumentException e)
        {
            throw new CorpusException(corpus.Path, $"does not match the run's vocabulary: {e.Message}", e);
        }
        return new TrainingData(vocabulary, ids[..trainLength], ids[trainLength..]);
    }
}
