namespace TextGen.Demo.Scene;

/// <summary>What a scene measured: generation speed, frame times and allocation.</summary>
internal sealed record SceneStats(
    int Lines,
    int Frames,
    int LateFrames,
    long CharsGenerated,
    TimeSpan GenerationTime,
    TimeSpan WorstFrame,
    TimeSpan FramePeriod,
    TimeSpan GenerationBudget,
    TimeSpan Duration,
    long BytesAllocated)
{
    /// <summary>Generated characters per second of generation time (the model's speed, not the typewriter's).</summary>
    public double CharsPerSecond => GenerationTime > TimeSpan.Zero ? CharsGenerated / GenerationTime.TotalSeconds : 0;

    /// <summary>The stats block printed after the scene.</summary>
    public IEnumerable<string> Describe()
    {
        yield return $"lines spoken:      {Lines} in {Duration.TotalSeconds:F1} s";
        yield return $"generation speed:  {CharsPerSecond:F0} chars/s ({CharsGenerated} chars in {GenerationTime.TotalMilliseconds:F0} ms of generation time)";
        yield return $"frames:            {Frames} at {1 / FramePeriod.TotalSeconds:F0} fps, {LateFrames} late";
        yield return $"worst frame time:  {WorstFrame.TotalMilliseconds:F2} ms of work (frame {FramePeriod.TotalMilliseconds:F2} ms, generation budget {GenerationBudget.TotalMilliseconds:F1} ms)";
        yield return $"bytes allocated:   {BytesAllocated} during the scene loop";
    }
}
