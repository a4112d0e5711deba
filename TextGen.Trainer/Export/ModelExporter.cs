using System.Text.Json;
using TextGen.Runtime.Format;
using TextGen.Trainer.Checkpoints;
using TextGen.Trainer.Model;
using TextGen.Trainer.Training;
using TorchSharp;

namespace TextGen.Trainer.Export;

/// <summary>Turns a checkpoint into the Runtime's weight file, with the provenance a game developer needs.</summary>
internal static class ModelExporter
{
    /// <summary>Metadata key of the run's full config, as JSON.</summary>
    public const string ConfigKey = "config";

    /// <summary>
    /// The weight file of <paramref name="checkpoint"/>: its weights as f32 (the running mean when the run averages
    /// weights and has begun to) and its metadata.
    /// </summary>
    public static ModelFile FromCheckpoint(Checkpoint checkpoint)
    {
        var state = checkpoint.State;
        var config = state.Config;
        var architecture = new ModelArchitecture(config.Arch, config.Layers, config.Hidden, config.Embedding, state.Vocabulary);
        using var model = new CharModel(architecture, dropout: 0);
        checkpoint.LoadWeights(model);
        return FromModel(model, state);
    }

    /// <summary>
    /// The weight file of <paramref name="model"/>: every tensor of <see cref="ModelArchitecture.ExpectedTensors"/>
    /// taken by name from the state_dict, and metadata: corpus name and sha256, steps, best and current validation
    /// loss, the full config as JSON (the corpus by file name only), the trainer version, and for averaged weights how
    /// many steps they average.
    /// </summary>
    public static ModelFile FromModel(CharModel model, CheckpointState state)
    {
        var weights = model.state_dict();
        var tensors = new List<ModelTensor>();
        foreach (var spec in model.Architecture.ExpectedTensors())
        {
            if (!weights.TryGetValue(spec.Name, out var weight) || !weight.shape.SequenceEqual(spec.Shape.Select(d => (long)d)))
            {
                throw new InvalidOperationException($"the model has no tensor {spec.Name} of shape ({string.Join(", ", spec.Shape)})");
            }
            using var values = weight.detach().contiguous().to_type(torch.ScalarType.Float32);
            tensors.Add(ModelTensor.FromFloat32(spec.Name, spec.Shape, values.data<float>().ToArray()));
        }

        var metadata = new Dictionary<string, MetadataValue>(StringComparer.Ordinal)
        {
            ["corpus_name"] = state.CorpusName,
            ["corpus_sha256"] = state.CorpusSha256,
            ["steps"] = state.Step,
            // A weight file ships inside games, so its config names the corpus by file name, never by the trainer's
            // local path (the checkpoint keeps that, for resume).
            [ConfigKey] = JsonSerializer.Serialize(state.Config with { Corpus = state.CorpusName }, TrainerJson.Default.TrainingConfig),
            ["trainer_version"] = state.TrainerVersion,
        };
        if (double.IsFinite(state.BestValLoss)) metadata["best_validation_loss"] = state.BestValLoss;
        if (state.ValLoss is double valLoss) metadata["validation_loss"] = valLoss;
        if (state.AverageCount > 0) metadata["averaged_steps"] = state.AverageCount;
        return new ModelFile(model.Architecture, tensors, metadata);
    }
}
