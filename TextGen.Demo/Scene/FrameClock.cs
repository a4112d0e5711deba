using System.Diagnostics;

namespace TextGen.Demo.Scene;

/// <summary>
/// A fixed-timestep frame loop clock, as a game engine runs one: each frame has a deadline one period after the
/// last; the clock sleeps until it, and a frame that overruns moves the schedule instead of piling up catch-up frames.
/// </summary>
internal sealed class FrameClock
{
    private readonly long _periodTicks;
    private long _deadline;

    /// <param name="framesPerSecond">Target frame rate, e.g. 60.</param>
    public FrameClock(double framesPerSecond)
    {
        _periodTicks = (long)(Stopwatch.Frequency / framesPerSecond);
        _deadline = Stopwatch.GetTimestamp();
    }

    /// <summary>Length of one frame.</summary>
    public TimeSpan Period => Seconds(_periodTicks);

    /// <summary>Frames that ended after their deadline.</summary>
    public int LateFrames { get; private set; }

    /// <summary>Waits until the next frame starts.</summary>
    public void WaitForNextFrame()
    {
        _deadline += _periodTicks;
        long now = Stopwatch.GetTimestamp();
        if (now > _deadline)
        {
            LateFrames++;
            _deadline = now;
            return;
        }
        // Sleep most of the wait (the OS timer is coarse), then spin the last millisecond for an even frame rate.
        long sleepTicks = _deadline - now - Stopwatch.Frequency / 1000;
        if (sleepTicks > 0) Thread.Sleep(Seconds(sleepTicks));
        while (Stopwatch.GetTimestamp() < _deadline) Thread.SpinWait(20);
    }

    /// <summary>A span of <see cref="Stopwatch"/> ticks as a <see cref="TimeSpan"/>.</summary>
    public static TimeSpan Seconds(long ticks) => TimeSpan.FromSeconds((double)ticks / Stopwatch.Frequency);
}
