using System.Text.Json.Nodes;
using TextGen.Trainer.Checkpoints;
using TextGen.Trainer.Data;
using TextGen.Trainer.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TextGen.Tests.Trainer;

public sealed class WeightDecayTests : TinyTrainingFixture
{
    private protected override TrainingConfig Configure(TrainingConfig tiny) => tiny with { WeightDecay = 0.5 };

    private static Dictionary<string, double> Norms(TrainingRun run) =>
        run.Model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().norm().item<float>() * 1.0);

    [Test]
    public void DecayShrinksEveryWeightMatrixAgainstTheSameRunWithoutIt()
    {
        Dictionary<string, double> Train(double decay, string name)
        {
            var config = Config with { WeightDecay = decay };
            using var run = TrainingRun.Start(config, Corpus.Load(config.Corpus), Sandbox.PathOf(name));
            TrainingSandbox.TrainUntil(run, 40);
            return Norms(run);
        }

        var plain = Train(0, "plain");
        var decayed = Train(5, "decayed"); // 1 − 0.01·5 per step: 40 steps take off far more than training adds
        var matrices = plain.Keys.Where(name => name.Contains("weight")).ToList();
        Assert.That(matrices, Has.Count.EqualTo(1 + 2 * 2 + 1), "embedding, two matrices per layer, head");
        using (Assert.EnterMultipleScope())
        {
            foreach (var name in matrices) Assert.That(decayed[name], Is.LessThan(plain[name] * 0.9), name);
        }
    }

    [Test]
    public void OneStepWithZeroGradientsShrinksTheMatricesByLrTimesDecayAndLeavesTheBiasesBitIdentical()
    {
        var data = TrainingData.Split(Corpus.Load(Config.Corpus), Config.ValFraction, Config.Batch, Config.SeqLen);
        using var learner = new Learner(Config, data);
        Assert.That(learner.Optimizer, Is.InstanceOf<AdamW>());
        var parameters = learner.Model.named_parameters().ToList();
        var before = parameters.ToDictionary(p => p.name, p => p.parameter.detach().clone());

        // A zero gradient leaves Adam's update at exactly 0 (m = 0 over √v + ε), so only the decay can move a weight.
        learner.Optimizer.zero_grad();
        using (var zero = parameters.Select(p => p.parameter.sum()).Aggregate((a, b) => a + b) * 0) zero.backward();
        learner.Optimizer.step();

        using (Assert.EnterMultipleScope())
        {
            foreach (var (name, parameter) in parameters)
            {
                var expected = Learner.IsDecayed(parameter) ? before[name].mul(1 - Config.Lr * Config.WeightDecay) : before[name];
                Assert.That(parameter.detach().equal(expected).all().item<bool>(), Is.True, name);
                Assert.That(Learner.IsDecayed(parameter), Is.EqualTo(!name.Contains("bias")), name);
            }
        }
    }

    [Test]
    public void AdamWStateSurvivesAResumeBitIdentically()
    {
        string straight = Sandbox.PathOf("straight");
        string straightSum;
        using (var run = TrainingRun.Start(Config, Corpus.Load(Config.Corpus), straight))
        {
            TrainingSandbox.TrainUntil(run, 40);
            straightSum = TrainingSandbox.Checksum(run.Model);
        }

        string split = Sandbox.PathOf("split");
        using (var first = TrainingRun.Start(Config, Corpus.Load(Config.Corpus), split)) TrainingSandbox.TrainUntil(first, 20);
        using var resumed = TrainingRun.Resume(split, resetOptimizer: false);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(resumed.Optimizer, Is.InstanceOf<AdamW>());
            Assert.That(resumed.Optimizer.state_dict().State.Cast<AdamW.State>().Select(s => s.step), Is.Not.Empty.And.All.EqualTo(20), "restored, not re-created");
        }
        TrainingSandbox.TrainUntil(resumed, 40);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(TrainingSandbox.Checksum(resumed.Model), Is.EqualTo(straightSum));
            foreach (var file in new[] { "model.bin", "optimizer.bin", "hidden.bin", "rng.bin" })
            {
                Assert.That(CheckpointFile(split, file), Is.EqualTo(CheckpointFile(straight, file)), file);
            }
            Assert.That(Checkpoint.Open(split).State.Config.WeightDecay, Is.EqualTo(0.5));
        }
    }

    [Test]
    public void ACheckpointFromBeforeTheRegularizersLoadsWithoutDecayOrAveraging()
    {
        var config = Config with { WeightDecay = 0 };
        string directory = Sandbox.PathOf("old");
        using (var run = TrainingRun.Start(config, Corpus.Load(config.Corpus), directory)) TrainingSandbox.TrainUntil(run, 10);

        string stateFile = Path.Combine(directory, Checkpoint.LatestName, "checkpoint.json");
        var json = JsonNode.Parse(File.ReadAllText(stateFile))!.AsObject();
        var stored = json["config"]!.AsObject();
        Assert.That(stored.ContainsKey("weight_decay") && stored.ContainsKey("average_from") && json.ContainsKey("average_count"), Is.True, "the keys this test removes");
        stored.Remove("weight_decay");
        stored.Remove("average_from");
        json.Remove("average_count");
        File.WriteAllText(stateFile, json.ToJsonString());

        using var resumed = TrainingRun.Resume(directory, resetOptimizer: false);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(resumed.Config.WeightDecay, Is.Zero);
            Assert.That(resumed.Config.AverageFrom, Is.Null);
            Assert.That(resumed.Average.Count, Is.Zero);
            Assert.That(resumed.Optimizer, Is.InstanceOf<Adam>());
            Assert.That(TrainingSandbox.TrainUntil(resumed, 20).End, Is.EqualTo(TrainingEnd.Completed));
        }
    }

    [Test]
    public void DecayTimesTheLearningRateMustStayBelowOne()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That((Config with { Lr = 0.1, WeightDecay = 10 }).Problems(), Has.One.Contains("--weight-decay times --lr must be below 1"));
            Assert.That((Config with { Lr = 0.1, WeightDecay = 9 }).Problems(), Is.Empty);
        }
    }
}
