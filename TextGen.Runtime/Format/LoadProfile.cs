using System.Diagnostics;

namespace TextGen.Runtime.Format;

/// <summary>
/// Where the time of one model load goes, phase by phase: what the benchmarks' <c>load-time</c> command prints. The
/// load path takes one as an optional argument; without it (every normal load) each phase boundary costs a null check.
/// A phase entered several times (once per tensor) accumulates.
/// </summary>
internal sealed class LoadProfile
{
    private readonly List<(string Phase, long Ticks)> _phases = new();
    private readonly object _gate = new();

    /// <summary>Each phase's total in milliseconds, in the order the phases were first entered.</summary>
    public IReadOnlyList<(string Phase, double Milliseconds)> Phases
    {
        get
        {
            lock (_gate) return _phases.Select(p => (p.Phase, p.Ticks * 1000.0 / Stopwatch.Frequency)).ToList();
        }
    }

    /// <summary>Adds the time since <paramref name="since"/> (a <see cref="Stopwatch"/> timestamp) to <paramref name="phase"/>.</summary>
    public void Add(string phase, long since, long now)
    {
        lock (_gate)
        {
            int i = _phases.FindIndex(p => p.Phase == phase);
            if (i < 0) _phases.Add((phase, now - since));
            else _phases[i] = (phase, _phases[i].Ticks + now - since);
        }
    }
}

/// <summary>Phase boundaries that cost nothing but a null check when no profile is kept.</summary>
internal static class LoadProfileExtensions
{
    /// <summary>A timestamp to start a phase from; 0 without a profile.</summary>
    public static long Start(this LoadProfile? profile) => profile is null ? 0 : Stopwatch.GetTimestamp();

    /// <summary>Ends <paramref name="phase"/>, begun at <paramref name="since"/>; returns the timestamp the next phase starts from.</summary>
    public static long Lap(this LoadProfile? profile, string phase, long since)
    {
        if (profile is null) return 0;
        long now = Stopwatch.GetTimestamp();
        profile.Add(phase, since, now);
        return now;
    }
}
