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
    private readonly Tensor[] _mean;  // per parameter, its shape: the running mean (zeros before the first step)
    private readonly Tensor[] _raw;   // per parameter, its shape: the trained weights while the mean is swapped in

    /// <summary>An empty average of <paramref name="model"/>'s parameters, in <c>parameters()</c> order.</summary>
    public WeightAverage(CharModel model)
    {
        _parameters = model.parameters().ToArray();
        // Allocated once here, so the per-step update and the swap allocate nothing.
        _mean = _parameters.Select(p => torch.zeros_like(p).DetachFromDisposeScope()).ToArray();
        _raw = _parameters.Select(p => torch.zeros_like(p).DetachFromDisposeScope()).ToArray();
    }

    /// <summary>Steps averaged so far; 0 before averaging starts.</summary>
    public long Count { get; private set; }

    /// <summary>The running mean, one tensor per parameter in <c>parameters()</c> order (owned by this average).</summary>
    public IReadOnlyList<Tensor> Mean => _mean;

    /// <summary>Adds the model's current weights to the mean.</summary>
    public void Add()
    {
        using var noGrad = torch.no_grad();
        Count++;
        double weight = 1.0 / Count;
        for (int i = 0; i < _parameters.Length; i++) _mean[i].lerp_(_parameters[i], weight);
    }

    /// <summary>Empties the average: a run restored to a checkpoint from before averaging began.</summary>
    public void Clear()
    {
        foreach (var t in _mean) t.zero_();
        Count = 0;
    }

    /// <summary>Sets the mean and its count, as a checkpoint holds them.</summary>
    /// <exception cref="ArgumentException">The tensors do not match the parameters' count and shapes.</exception>
    public void Load(IReadOnlyList<Tensor> mean, long count)
    {
        if (mean.Count != _mean.Length || mean.Where((t, i) => !t.shape.SequenceEqual(_mean[i].shape)).Any())
        {
            throw new ArgumentException($"expected {_mean.Length} tensors shaped like the model's parameters", nameof(mean));
        }
        using var noGrad = torch.no_grad();
        for (int i = 0; i < _mean.Length; i++) _mean[i].copy_(mean[i]);
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
            for (int i = 0; i < _parameters.Length; i++) _raw[i].copy_(_parameters[i]);
        }
        Apply();
        return new SwappedIn(this);
    }

    /// <summary>Overwrites the model's weights with the mean, for good: what export does with an averaged run.</summary>
    public void Apply()
    {
        using var noGrad = torch.no_grad();
        for (int i = 0; i < _parameters.Length; i++) _parameters[i].copy_(_mean[i]);
    }

    private void SwapOut()
    {
        using var noGrad = torch.no_grad();
        for (int i = 0; i < _parameters.Length; i++) _parameters[i].copy_(_raw[i]);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in _mean.Concat(_raw)) t.Dispose();
    }

    private sealed class SwappedIn(WeightAverage average) : IDisposable
    {
        public void Dispose() => average.SwapOut();
    }
}
