using TextGen.Runtime.Format;
using TextGen.Trainer.Data;
using TextGen.Trainer.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TextGen.Trainer.Training;

/// <summary>
/// What one step of truncated BPTT reads and changes: the model, its Adam (or AdamW) optimizer, the batch walk and
/// the hidden state carried from chunk to chunk. A training run and the learning-rate range test step the same way.
/// </summary>
internal sealed class Learner : IDisposable
{
    private readonly TrainingConfig _config;
    private readonly int _vocabulary;
    private readonly Parameter[] _parameters;

    /// <summary>
    /// A fresh model drawn from <paramref name="config"/>'s seed, Adam at its base rate, and the batch walk at its
    /// start, so two learners of the same config start from the same weights and read the same chunks.
    /// </summary>
    public Learner(TrainingConfig config, TrainingData data)
    {
        _config = config;
        _vocabulary = data.Vocabulary.Count;
        if (config.Threads > 0) torch.set_num_threads(config.Threads);
        torch.manual_seed(config.Seed);
        var architecture = new ModelArchitecture(config.Arch, config.Layers, config.Hidden, config.Embedding, data.Vocabulary.Scalars);
        Model = new CharModel(architecture, config.Dropout);
        _parameters = Model.parameters().ToArray();
        Optimizer = CreateOptimizer();
        Batches = new TruncatedBpttBatches(data.Training, config.Batch, config.SeqLen, TruncatedBpttBatches.Start(config.Seed));
        Carried = Model.ZeroState(config.Batch);
    }

    /// <summary>The model being trained.</summary>
    public CharModel Model { get; }

    /// <summary>
    /// Adam, or AdamW with a weight decay: constructed once with the learner, restored from checkpoints, replaced
    /// only by <see cref="RecreateOptimizer"/>, which exists to demonstrate why it must not be.
    /// </summary>
    public OptimizerHelper Optimizer { get; private set; }

    /// <summary>The batch walk; a checkpoint restore replaces it.</summary>
    public TruncatedBpttBatches Batches { get; set; }

    /// <summary>The hidden state every stream ends its last chunk with, cut from that chunk's graph.</summary>
    public RecurrentState Carried { get; private set; }

    /// <summary>Replaces the carried state (taking ownership of <paramref name="state"/>).</summary>
    public void Carry(RecurrentState state)
    {
        Carried.Dispose();
        Carried = state;
    }

    /// <summary>
    /// One step of truncated BPTT at <paramref name="lr"/>: the chunk's forward pass starts from the carried state,
    /// the gradient is clipped to the config's norm, Adam updates; returns the chunk's mean loss.
    /// </summary>
    public double Step(double lr)
    {
        using var scope = torch.NewDisposeScope();
        var batch = Batches.Next();
        if (batch.StartsEpoch) Carry(Model.ZeroState(_config.Batch));
        foreach (var group in Optimizer.ParamGroups) group.LearningRate = lr;

        var (logits, next) = Model.forward(batch.Inputs, Carried);
        var loss = nn.functional.cross_entropy(logits.reshape(-1, _vocabulary), batch.Targets.reshape(-1));
        Optimizer.zero_grad();
        loss.backward();
        nn.utils.clip_grad_norm_(_parameters, _config.Clip);
        Optimizer.step();

        Carry(next.Detached());
        return loss.item<float>();
    }

    /// <summary>
    /// Throws Adam's moment estimates and step counts away and starts a new one: the blog's mistake, for
    /// <c>--recreate-optimizer-every</c> only. The new Adam's first updates are bias-corrected ratios m/√v of one
    /// gradient, ±1 for every weight, so each weight moves by about the full learning rate whatever its history.
    /// </summary>
    public void RecreateOptimizer()
    {
        Optimizer.Dispose();
        Optimizer = CreateOptimizer();
    }

    /// <summary>
    /// The parameters AdamW decays: every matrix (the embedding, the recurrent input and hidden weights, the head),
    /// never a bias. A bias has one value per unit, cannot overfit by growing large, and decaying it only pulls
    /// the gates' and the head's operating points to zero (the forget gate's bias most of all). The embedding is
    /// decayed like any input matrix because it is one: with <c>--embedding 0</c> the one-hot input meets the
    /// first layer's input weights directly, and those are decayed, so the two input encodings are regularized
    /// alike (nanoGPT's rule: decay every parameter of two or more dimensions).
    /// </summary>
    public static bool IsDecayed(Parameter parameter) => parameter.dim() >= 2;

    // Plain Adam without decay keeps checkpoints from before --weight-decay loading, and their runs bit-identical;
    // TorchSharp's AdamW with 0 decay would be the same update but a different optimizer.bin.
    private OptimizerHelper CreateOptimizer()
    {
        if (_config.WeightDecay == 0) return torch.optim.Adam(_parameters, lr: _config.Lr);
        // Options left unset in a group take the optimizer's defaults, which are those of torch.optim.Adam above.
        var groups = new[]
        {
            new AdamW.ParamGroup(_parameters.Where(IsDecayed), new AdamW.Options { weight_decay = _config.WeightDecay }),
            new AdamW.ParamGroup(_parameters.Where(p => !IsDecayed(p)), new AdamW.Options { weight_decay = 0 }),
        };
        return torch.optim.AdamW(groups, lr: _config.Lr);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Carried.Dispose();
        Optimizer.Dispose();
        Model.Dispose();
    }
}
