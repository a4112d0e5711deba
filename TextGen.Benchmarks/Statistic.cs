namespace TextGen.Benchmarks;

/// <summary>How every measurement command summarizes its rounds, so that all report the same kind of median.</summary>
internal static class Statistic
{
    /// <summary>
    /// The median of <paramref name="values"/>: the middle one of an odd count, the upper of the two middle ones of an
    /// even count, so the figure is always a value that was measured.
    /// </summary>
    /// <exception cref="InvalidOperationException"><paramref name="values"/> is empty.</exception>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        if (sorted.Count == 0) throw new InvalidOperationException("the median of no values");
        return sorted[sorted.Count / 2];
    }
}
