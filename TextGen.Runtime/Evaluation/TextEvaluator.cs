using TextGen.Runtime.Kernels;
using TextGen.Runtime.Model;

namespace TextGen.Runtime.Evaluation;

/// <summary>Measures how well a model predicts a text: the loss the trainer's <c>eval</c> command reports.</summary>
public static class TextEvaluator
{
    /// <summary>
    /// Feeds <paramref name="text"/> through the model from the zero state and sums −ln p of every character given
    /// all the text before it. The first known character has no context and is fed but not scored, as in the
    /// trainer's loss, whose targets are the inputs shifted by one. Characters outside the vocabulary are skipped:
    /// neither scored nor fed.
    /// </summary>
    /// <param name="model">The model to evaluate.</param>
    /// <param name="text">The text, e.g. a validation split.</param>
    /// <param name="strictDeterminism">Same result bits on every machine; see <see cref="Generation.GeneratorOptions.StrictDeterminism"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> is null.</exception>
    public static TextEvaluation Evaluate(TextModel model, ReadOnlySpan<char> text, bool strictDeterminism = false)
    {
        if (model is null) throw new ArgumentNullException(nameof(model));
        ModelWeights weights = model.Weights;
        KernelMode mode = weights.ModeFor(KernelMode.BestPath, strictDeterminism);
        var state = new RunState(weights);
        var logProbabilities = new float[model.VocabularySize];
        double totalNats = 0;
        long scored = 0, unknown = 0;
        bool hasContext = false;
        for (int i = 0; i < text.Length;)
        {
            int id = model.Vocabulary.IdOf(Utf16.ReadScalar(text, i, out int length));
            i += length;
            if (id < 0)
            {
                unknown++;
                continue;
            }
            if (hasContext)
            {
                Softmax.LogProbabilities(mode.Path, state.Logits, logProbabilities);
                totalNats -= logProbabilities[id];
                scored++;
            }
            ForwardPass.Step(weights, state, mode, id);
            hasContext = true;
        }
        return new TextEvaluation(totalNats, scored, unknown);
    }

    /// <summary>As <see cref="Evaluate(TextModel, ReadOnlySpan{char}, bool)"/> for a string.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> or <paramref name="text"/> is null.</exception>
    public static TextEvaluation Evaluate(TextModel model, string text, bool strictDeterminism = false)
        => Evaluate(model, (text ?? throw new ArgumentNullException(nameof(text))).AsSpan(), strictDeterminism);
}
