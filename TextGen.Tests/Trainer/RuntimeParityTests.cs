using TextGen.Runtime.Format;
using TextGen.Runtime.Generation;
using TextGen.Runtime.Model;
using TextGen.Runtime.Sampling;
using TextGen.Trainer.Checkpoints;
using TextGen.Trainer.Data;
using TextGen.Trainer.Export;
using TextGen.Trainer.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace TextGen.Tests.Trainer;

/// <summary>
/// What the trainer exports, TextGen.Runtime runs exactly as TorchSharp does: the same logits within 1e-5 after a
/// 200-character warm-up, and the same 500 characters of argmax generation, for every cell, depth and input kind.
/// </summary>
public sealed class RuntimeParityTests
{
    private const int Warm = 200, Generated = 500;

    [Test]
    public void ExportedModelMatchesTorchSharp([Values] CellKind cell, [Values(1, 2, 3)] int layers, [Values(0, 10)] int embedding)
    {
        using var sandbox = new TrainingSandbox();
        var config = TrainingSandbox.TinyConfig(sandbox.WriteCorpus()) with
        {
            Arch = cell, Layers = layers, Embedding = embedding, Hidden = 20, Dropout = 0,
            Schedule = ScheduleKind.Constant, Lr = 0.02, Steps = 100, EvalEvery = 1000, CheckpointEvery = 1000,
        };
        string directory = sandbox.PathOf("run");
        var corpus = Corpus.Load(config.Corpus);
        using var run = TrainingRun.Start(config, corpus, directory);
        run.Train(new TrainingBudget(100, null), new RecordingReporter(), CancellationToken.None);

        // Through the file on disk, as a game would load it.
        string file = sandbox.PathOf("model.tgm");
        ModelExporter.FromCheckpoint(Checkpoint.Open(directory)).WriteFile(file);
        var runtime = TextModel.Load(file);
        var generator = runtime.CreateGenerator(new GeneratorOptions { Sampling = new SamplingOptions { Temperature = 0 } });

        var model = run.Model;
        model.eval();
        using var noGrad = torch.no_grad();
        int[] warm = TextGen.Trainer.Data.Vocabulary.Of(corpus.Scalars).Encode(corpus.Scalars.AsSpan(0, Warm));
        var (torchLogits, state) = model.forward(tensor(warm.Select(i => (long)i).ToArray()).reshape(Warm, 1), model.ZeroState(1));
        float[] expected = torchLogits.data<float>().ToArray(); // (warm, 1, vocab) row-major
        int vocabulary = runtime.VocabularySize;

        double worst = 0;
        for (int t = 0; t < Warm; t++)
        {
            generator.FeedToken(warm[t]);
            var actual = generator.Logits;
            for (int v = 0; v < vocabulary; v++) worst = Math.Max(worst, Math.Abs(actual[v] - expected[t * vocabulary + v]));
        }

        // Argmax generation in lockstep: TorchSharp feeds its own argmax; the Runtime samples at temperature 0 (ties go
        // to the lowest id, as with argmax) and has fed that character when NextChar returns, so both logits compare.
        var torchText = new System.Text.StringBuilder();
        var runtimeText = new System.Text.StringBuilder();
        double worstGenerated = 0;
        var last = torchLogits[Warm - 1, 0];
        for (int i = 0; i < Generated; i++)
        {
            long id = last.argmax().item<long>();
            torchText.Append(char.ConvertFromUtf32(runtime.GetScalar((int)id)));
            var (logits, after) = model.forward(tensor(new[] { id }).reshape(1, 1), state);
            state.Dispose();
            state = after;
            last = logits[0, 0];

            runtimeText.Append((char)generator.NextChar());
            float[] step = last.data<float>().ToArray();
            var actual = generator.Logits;
            for (int v = 0; v < vocabulary; v++) worstGenerated = Math.Max(worstGenerated, Math.Abs(actual[v] - step[v]));
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(worst, Is.LessThanOrEqualTo(1e-5), "largest logit difference over the warm-up");
            Assert.That(worstGenerated, Is.LessThanOrEqualTo(1e-5), "largest logit difference while generating");
            Assert.That(runtimeText.ToString(), Is.EqualTo(torchText.ToString()));
            Assert.That(torchText.ToString().Distinct().Count(), Is.GreaterThanOrEqualTo(3), "the trained model writes words, not one repeated character");
        }
    }
}
