using TextGen.Trainer.Checkpoints;
using TextGen.Trainer.Training;

namespace TextGen.Tests.Trainer;

/// <summary>
/// Base of the fixtures whose tests train <see cref="TrainingSandbox.TinyConfig"/>: before every test a fresh sandbox
/// with the default corpus and the config as <see cref="Configure"/> adjusts it; after it the sandbox is deleted.
/// A fixture's own [SetUp] runs after this one's, so it can build on both.
/// </summary>
public abstract class TinyTrainingFixture
{
    private protected TrainingSandbox Sandbox { get; private set; } = null!;

    private protected TrainingConfig Config { get; private set; } = null!;

    /// <summary>The tiny config as this fixture's tests train it.</summary>
    private protected virtual TrainingConfig Configure(TrainingConfig tiny) => tiny;

    [SetUp]
    public void CreateSandbox()
    {
        Sandbox = new TrainingSandbox();
        Config = Configure(TrainingSandbox.TinyConfig(Sandbox.WriteCorpus()));
    }

    [TearDown]
    public void DeleteSandbox() => Sandbox.Dispose();

    /// <summary>The bytes of <paramref name="file"/> in the latest checkpoint of the run in <paramref name="runDirectory"/>.</summary>
    private protected static byte[] CheckpointFile(string runDirectory, string file) =>
        File.ReadAllBytes(Path.Combine(runDirectory, Checkpoint.LatestName, file));
}
