using System.Text.Json;
using TextGen.Runtime.Format;
using TextGen.Trainer.Checkpoints;
using TextGen.Trainer.Data;
using TextGen.Trainer.Export;
using TextGen.Trainer.Training;

namespace TextGen.Tests.Trainer;

public sealed class ModelExporterTests
{
    [Test]
    public void ExportHoldsEveryWeightByNameAndTheRunsProvenance([Values(0, 6)] int embedding, [Values] CellKind cell)
    {
        using var sandbox = new TrainingSandbox();
        var config = TrainingSandbox.TinyConfig(sandbox.WriteCorpus()) with { Arch = cell, Embedding = embedding, Steps = 20 };
        string directory = sandbox.PathOf("run");
        var corpus = Corpus.Load(config.Corpus);
        using var run = TrainingRun.Start(config, corpus, directory);
        run.Train(new TrainingBudget(20, null), new RecordingReporter(), CancellationToken.None);

        var file = ModelExporter.FromCheckpoint(Checkpoint.Open(directory));
        var weights = run.Model.state_dict();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(file.Architecture.Cell, Is.EqualTo(cell));
            Assert.That(file.Architecture.EmbeddingSize, Is.EqualTo(embedding));
            Assert.That(file.Architecture.Vocabulary, Is.EqualTo(Vocabulary.Of(corpus.Scalars).Scalars));
            Assert.That(file.Tensors.Select(t => t.Name), Is.EqualTo(file.Architecture.ExpectedTensors().Select(s => s.Name)));
            foreach (var tensor in file.Tensors)
            {
                var expected = weights[tensor.Name].detach().contiguous().data<float>().ToArray();
                var stored = new float[tensor.ElementCount];
                for (int i = 0; i < stored.Length; i++) stored[i] = BitConverter.ToSingle(tensor.Data.Span.Slice(i * 4, 4));
                Assert.That(tensor.DType, Is.EqualTo(TensorDType.F32));
                Assert.That(tensor.Shape.Select(d => (long)d), Is.EqualTo(weights[tensor.Name].shape), tensor.Name);
                Assert.That(stored, Is.EqualTo(expected), tensor.Name);
            }
            Assert.That(file.Metadata["corpus_name"].String, Is.EqualTo("corpus.txt"));
            Assert.That(file.Metadata["corpus_sha256"].String, Is.EqualTo(corpus.Sha256));
            Assert.That(file.Metadata["steps"].Number, Is.EqualTo(20));
            Assert.That(file.Metadata["best_validation_loss"].Number, Is.EqualTo(Checkpoint.Open(directory).State.BestValLoss));
            Assert.That(file.Metadata["validation_loss"].Number, Is.EqualTo(Checkpoint.Open(directory).State.ValLoss));
            Assert.That(file.Metadata["trainer_version"].String, Is.EqualTo(TrainingRun.Version));
            var storedConfig = JsonSerializer.Deserialize(file.Metadata["config"].String, TrainerJson.Default.TrainingConfig);
            Assert.That(storedConfig, Is.EqualTo(config with { Corpus = "corpus.txt" }), "the config, the corpus by file name only");
            Assert.That(file.Metadata["config"].String, Does.Not.Contain(Path.GetFileName(Path.GetDirectoryName(config.Corpus)!)), "a shipped file would carry the trainer's local path");
        }
    }
}
