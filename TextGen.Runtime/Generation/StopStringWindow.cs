namespace TextGen.Runtime.Generation;

/// <summary>
/// Holds back generated characters while they could still be the start of a stop string, so that a stop string is
/// never output, and queues the rest for the caller. Works on UTF-16 units; stop strings are well-formed, so a
/// surrogate pair is always released as a whole.
/// </summary>
internal sealed class StopStringWindow
{
    private readonly string[] _stops;
    private readonly char[] _held;   // (longest stop) units that are a proper prefix of some stop string, plus the newest
    private readonly char[] _ready;  // (longest stop + 2) units released for output, read from _readyStart
    private int _heldCount;
    private int _readyStart;
    private int _readyEnd;

    public StopStringWindow(IReadOnlyList<string> stops)
    {
        _stops = stops.ToArray();
        int longest = 0;
        foreach (string s in _stops) longest = Math.Max(longest, s.Length);
        _held = new char[longest];
        // One append releases at most everything held plus itself; a surrogate pair appends twice before a read.
        _ready = new char[longest + 2];
    }

    public int HeldCapacity => _held.Length;

    public int ReadyCapacity => _ready.Length;

    public ReadOnlySpan<char> Held => _held.AsSpan(0, _heldCount);

    public ReadOnlySpan<char> Ready => _ready.AsSpan(_readyStart, _readyEnd - _readyStart);

    /// <summary>Adds a generated unit; returns true when it completes a stop string (which is dropped, not output).</summary>
    public bool Append(char unit)
    {
        if (_held.Length == 0)
        {
            Release(unit);
            return false;
        }
        _held[_heldCount++] = unit;
        ReadOnlySpan<char> held = Held;
        foreach (string stop in _stops)
        {
            if (held.EndsWith(stop.AsSpan()))
            {
                ReleaseHeld(held.Length - stop.Length);
                _heldCount = 0;
                return true;
            }
        }
        // Keep the longest tail that can still grow into a stop string; whatever precedes it can no longer be part of one.
        int keep = Math.Min(_heldCount, _held.Length - 1);
        while (keep > 0 && !StartsSomeStop(held.Slice(_heldCount - keep))) keep--;
        ReleaseHeld(_heldCount - keep);
        held.Slice(_heldCount - keep).CopyTo(_held);
        _heldCount = keep;
        return false;
    }

    /// <summary>Releases everything held: generation ended without a stop string.</summary>
    public void Flush()
    {
        ReleaseHeld(_heldCount);
        _heldCount = 0;
    }

    public bool TryPeek(out char unit)
    {
        unit = _readyStart < _readyEnd ? _ready[_readyStart] : '\0';
        return _readyStart < _readyEnd;
    }

    public bool TryRead(out char unit)
    {
        if (!TryPeek(out unit)) return false;
        _readyStart++;
        return true;
    }

    public void Clear()
    {
        _heldCount = 0;
        _readyStart = _readyEnd = 0;
    }

    /// <summary>Replaces the contents (from a snapshot); the caller has checked both capacities.</summary>
    public void Restore(ReadOnlySpan<char> held, ReadOnlySpan<char> ready)
    {
        Clear();
        held.CopyTo(_held);
        _heldCount = held.Length;
        ready.CopyTo(_ready);
        _readyEnd = ready.Length;
    }

    private bool StartsSomeStop(ReadOnlySpan<char> tail)
    {
        foreach (string stop in _stops)
        {
            if (stop.AsSpan().StartsWith(tail)) return true;
        }
        return false;
    }

    private void ReleaseHeld(int count)
    {
        for (int k = 0; k < count; k++) Release(_held[k]);
    }

    private void Release(char unit)
    {
        if (_readyEnd == _ready.Length)
        {
            // Move the unread units to the front; capacity covers everything one append can release.
            Array.Copy(_ready, _readyStart, _ready, 0, _readyEnd - _readyStart);
            _readyEnd -= _readyStart;
            _readyStart = 0;
        }
        _ready[_readyEnd++] = unit;
    }
}
