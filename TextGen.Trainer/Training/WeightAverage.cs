using TextGen.Trainer.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TextGen.Trainer.Training;

/// <summary>
/// The arithmetic mean of a model's parameters over the steps since <c>--average-from</c> (Polyak averaging, as
/// SWA with a constant schedule): after each step avg += (p − avg) / n. The mean of weights along the noisy end of
/// a trajectory lies nearer the bottom of the valley than any one of them, which is what an overfitting run's
/// last stretch needs. It acts on weights only: dropout masks, the carried BPTT state and torch's generator are
/// the raw run's, untouched, because the averaged weights are only ever validated and exported, never trained.
/// </summary>
internal sealed class WeightAverage : IDisposable
{
    private readonly Parameter[] _parameters;
    // Allocated at first use, then kept, so that runs without --average-from never hold two extra copies of the
    // weights and the per-step update and the swap allocate nothing.
    private Tensor[]? _mean; // per parameter, its shape: the running mean (zeros before the first step)
    private Tensor[]? _raw;  // per parameter, its shape: the trained weights while the mean is swapped in

    /// <summary>An empty average of <paramref name="model"/>'s parameters, in <c>parameters()</c> order.</summary>
    public WeightAverage(CharModel model)
    {
        _parameters = model.parameters().ToArray();
    }

    /// <summary>Steps averaged so far; 0 before averaging starts.</summary>
    public long Count { get; private set; }

    /// <summary>The running mean, one tensor per parameter in <c>parameters()</c> order (owned by this average).</summary>
    public IReadOnlyList<Tensor> Mean => MeanTensors;

    private Tensor[] MeanTensors => _mean ??= Zeros();

    private Tensor[] RawTensors => _raw ??= Zeros();

    /// <summary>Adds the model's current weights to the mean.</summary>
    public void Add()
    {
        using var noGrad = torch.no_grad();
        Count++;
        double weight = 1.0 / Count;
        var mean = MeanTensors;
        for (int i = 0; i < _parameters.Length; i++) mean[i].lerp_(_parameters[i], weight);
    }

    /// <summary>Empties the average: a run restored to a checkpoint from before averaging began.</summary>
    public void Clear()
    {
        foreach (var t in _mean ?? []) t.zero_();
        Count = 0;
    }

    /// <summary>Sets the mean and its count, as a checkpoint holds them.</summary>
    /// <exception cref="ArgumentException">The tensors do not match the parameters' count and shapes.</exception>
    public void Load(IReadOnlyList<Tensor> mean, long count)
    {
        if (mean.Count != _parameters.Length || mean.Where((t, i) => !t.shape.SequenceEqual(_parameters[i].shape)).Any())
        {
            throw new ArgumentException($"expected {_parameters.Length} tensors shaped like the model's parameters", nameof(mean));
        }
        using var noGrad = torch.no_grad();
        var target = MeanTensors;
        for (int i = 0; i < target.Length; i++) target[i].copy_(mean[i]);
        Count = count;
    }

    /// <summary>
    /// Puts the mean into the model until the result is disposed, which puts the trained weights back bit for
    /// bit, so training continues from exactly where it was.
    /// </summary>
    public IDisposable SwapIn()
    {
        using (torch.no_grad())
        {
            var raw = RawTensors;
            for (int i = 0; i < _parameters.Length; i++) raw[i].copy_(_parameters[i]);
        }
        Apply();
        return new SwappedIn(this);
    }

    /// <summary>Overwrites the model's weights with the mean, for good: what export does with an averaged run.</summary>
    public void Apply()
    {
        using var noGrad = torch.no_grad();
        var mean = MeanTensors;
        for (int i = 0; i < _parameters.Length; i++) _parameters[i].copy_(mean[i]);
    }

    private void SwapOut()
    {
        using var noGrad = torch.no_grad();
        var raw = RawTensors;
        for (int i = 0; i < _parameters.Length; i++) _parameters[i].copy_(raw[i]);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in (_mean ?? []).Concat(_raw ?? [])) t.Dispose();
    }

    private Tensor[] Zeros() => _parameters.Select(p => torch.zeros_like(p).DetachFromDisposeScope()).ToArray();

    private sealed class SwappedIn(WeightAverage average) : IDisposable
    {
        public void Dispose() => average.SwapOut();
    }
}
