using TextGen.Runtime.Format;
using TextGen.Trainer.Checkpoints;
using TextGen.Trainer.Data;
using TextGen.Trainer.Export;
using TextGen.Trainer.Model;
using TextGen.Trainer.Training;

namespace TextGen.Tests.Trainer;

public sealed class WeightAverageTests : TinyTrainingFixture
{
    private protected override TrainingConfig Configure(TrainingConfig tiny) => tiny with { AverageFrom = 15 };

    private static Dictionary<string, float[]> Weights(CharModel model) =>
        model.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().contiguous().data<float>().ToArray());

    private double ValidationLossOf(string checkpointDirectory)
    {
        var checkpoint = Checkpoint.Open(checkpointDirectory);
        var config = checkpoint.State.Config;
        var data = TrainingData.Split(Corpus.Load(config.Corpus), config.ValFraction, config.Batch, config.SeqLen, new Vocabulary(checkpoint.State.Vocabulary));
        using var model = new CharModel(new ModelArchitecture(config.Arch, config.Layers, config.Hidden, config.Embedding, checkpoint.State.Vocabulary), dropout: 0);
        checkpoint.LoadWeights(model);
        return Validation.Loss(model, data.Validation, config.Batch, config.SeqLen);
    }

    [Test]
    public void ExportedWeightsAreTheMeanOfTheTrainedWeightsAfterEveryStepFromAverageFrom()
    {
        var config = Config with { AverageFrom = 30 };
        string directory = Sandbox.PathOf("averaged");
        var seen = new List<Dictionary<string, float[]>>();
        Dictionary<string, float[]> last;
        using (var run = TrainingRun.Start(config, Corpus.Load(config.Corpus), directory))
        {
            TrainingSandbox.TrainUntil(run, 40, new RecordingReporter(r => { if (r.Step >= 30) seen.Add(Weights(run.Model)); }));
            Assert.That(run.Average.Count, Is.EqualTo(11), "steps 30 to 40");
            last = Weights(run.Model);
        }
        Assert.That(seen, Has.Count.EqualTo(11));

        var file = ModelExporter.FromCheckpoint(Checkpoint.Open(directory));
        Assert.That(file.Metadata["averaged_steps"].Number, Is.EqualTo(11));
        var exported = file.Tensors.ToDictionary(t => t.Name, t => t.ToFloat32Array());
        Assert.That(exported.Keys, Is.EquivalentTo(last.Keys));
        using (Assert.EnterMultipleScope())
        {
            foreach (var (name, values) in exported)
            {
                var mean = Enumerable.Range(0, values.Length).Select(i => (float)seen.Average(w => (double)w[name][i])).ToArray();
                Assert.That(values, Is.EqualTo(mean).Within(1e-6), name);
                Assert.That(values, Is.Not.EqualTo(last[name]), $"{name}: the mean, not the last step's weights");
            }
        }
    }

    [Test]
    public void ValidationScoresTheAverageAndTrainingContinuesFromTheTrainedWeights()
    {
        string plainDirectory = Sandbox.PathOf("plain"), averagedDirectory = Sandbox.PathOf("averaged");
        var plain = new RecordingReporter();
        var averaged = new RecordingReporter();
        string plainSum, averagedSum;
        var plainConfig = Config with { AverageFrom = null };
        using (var run = TrainingRun.Start(plainConfig, Corpus.Load(Config.Corpus), plainDirectory))
        {
            TrainingSandbox.TrainUntil(run, 40, plain);
            plainSum = TrainingSandbox.Checksum(run.Model);
        }
        var keepBest = Config with { KeepBest = true };
        using (var run = TrainingRun.Start(keepBest, Corpus.Load(Config.Corpus), averagedDirectory))
        {
            TrainingSandbox.TrainUntil(run, 40, averaged);
            averagedSum = TrainingSandbox.Checksum(run.Model);
        }

        using (Assert.EnterMultipleScope())
        {
            // Validations at 20, 30 and 40 swapped the mean in and out; the trained weights, the carried state and
            // torch's generator are exactly those of the run that never averaged.
            Assert.That(averagedSum, Is.EqualTo(plainSum));
            foreach (var file in new[] { "model.bin", "optimizer.bin", "hidden.bin", "rng.bin" })
            {
                Assert.That(CheckpointFile(averagedDirectory, file), Is.EqualTo(CheckpointFile(plainDirectory, file)), file);
            }

            Assert.That(averaged.Evaluations.Select(e => e.Step), Is.EqualTo(new long[] { 10, 20, 30, 40 }));
            Assert.That(averaged.Evaluations.Select(e => e.Averaged), Is.EqualTo(new[] { false, true, true, true }));
            Assert.That(plain.Evaluations.Select(e => e.Averaged), Is.All.False);
            Assert.That(averaged.Evaluations[0].ValLoss, Is.EqualTo(plain.Evaluations[0].ValLoss), "before step 15 there is nothing to average");
            for (int i = 1; i < 4; i++) Assert.That(averaged.Evaluations[i].ValLoss, Is.Not.EqualTo(plain.Evaluations[i].ValLoss), $"step {averaged.Evaluations[i].Step}");

            // The score at 40 is the mean's (what export writes), and --keep-best kept the best of the mean's scores.
            Assert.That(averaged.Evaluations[3].ValLoss, Is.EqualTo(ValidationLossOf(averagedDirectory)).Within(1e-12));
            double best = averaged.Evaluations.Min(e => e.ValLoss);
            var bestState = Checkpoint.Open(Path.Combine(averagedDirectory, Checkpoint.BestName)).State;
            Assert.That(bestState.BestValLoss, Is.EqualTo(best));
            Assert.That(bestState.AverageCount > 0, Is.EqualTo(averaged.Evaluations.First(e => e.ValLoss == best).Averaged), "the best checkpoint holds a mean exactly when its score was the mean's");
            Assert.That(ValidationLossOf(Path.Combine(averagedDirectory, Checkpoint.BestName)), Is.EqualTo(best).Within(1e-12));

            var lines = File.ReadAllLines(Path.Combine(averagedDirectory, MetricsLog.FileName));
            Assert.That(lines.Select(l => l.Contains("\"averaged\":true")), Is.EqualTo(new[] { false, true, true, true }));
            Assert.That(new MetricsLog(averagedDirectory).Read().Select(r => r.Averaged), Is.EqualTo(new[] { false, true, true, true }));
        }
    }

    [TestCase(10, TestName = "ResumeWithAveragingIsBitIdentical(stopped before averaging began)")]
    [TestCase(25, TestName = "ResumeWithAveragingIsBitIdentical(stopped while averaging)")]
    public void ResumeWithAveragingIsBitIdentical(long stopAt)
    {
        string straight = Sandbox.PathOf("straight");
        string straightSum;
        using (var run = TrainingRun.Start(Config, Corpus.Load(Config.Corpus), straight))
        {
            TrainingSandbox.TrainUntil(run, 40);
            straightSum = TrainingSandbox.Checksum(run.Model);
        }

        string split = Sandbox.PathOf("split");
        using (var first = TrainingRun.Start(Config, Corpus.Load(Config.Corpus), split)) TrainingSandbox.TrainUntil(first, stopAt);
        Assert.That(Checkpoint.Open(split).State.AverageCount, Is.EqualTo(Math.Max(0, stopAt - 14)));
        using var resumed = TrainingRun.Resume(split, resetOptimizer: false);
        TrainingSandbox.TrainUntil(resumed, 40);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(TrainingSandbox.Checksum(resumed.Model), Is.EqualTo(straightSum));
            Assert.That(Checkpoint.Open(split).State.AverageCount, Is.EqualTo(26), "steps 15 to 40");
            foreach (var file in new[] { "model.bin", "optimizer.bin", "hidden.bin", "rng.bin", "average.bin" })
            {
                Assert.That(CheckpointFile(split, file), Is.EqualTo(CheckpointFile(straight, file)), file);
            }
            Assert.That(ModelExporter.FromCheckpoint(Checkpoint.Open(split)).ToBytes(), Is.EqualTo(ModelExporter.FromCheckpoint(Checkpoint.Open(straight)).ToBytes()));
        }
    }

    [Test]
    public void RunsWithoutAveragingWriteNoAverage()
    {
        var config = Config with { AverageFrom = null };
        string directory = Sandbox.PathOf("plain");
        using (var run = TrainingRun.Start(config, Corpus.Load(config.Corpus), directory)) TrainingSandbox.TrainUntil(run, 20);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Checkpoint.Open(directory).State.AverageCount, Is.Zero);
            Assert.That(File.Exists(Path.Combine(directory, Checkpoint.LatestName, "average.bin")), Is.False);
        }
    }
}
