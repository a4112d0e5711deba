namespace TextGen.Runtime.Sampling;

/// <summary>
/// PCG32 (PCG-XSH-RR 64/32), M. E. O'Neill, "PCG: A Family of Simple Fast Space-Efficient Statistically Good
/// Algorithms for Random Number Generation", 2014; the minimal C implementation at pcg-random.org. The project owns
/// its generator because System.Random's sequence differs between runtimes, and a seed must give the same text on
/// every platform.
/// </summary>
internal struct Pcg32
{
    private const ulong Multiplier = 6364136223846793005UL;

    private Pcg32(ulong state, ulong increment)
    {
        State = state;
        Increment = increment;
    }

    public ulong State { get; private set; }

    public ulong Increment { get; }

    /// <summary>pcg32_srandom_r: the generator for <paramref name="seed"/> on stream <paramref name="stream"/>.</summary>
    public static Pcg32 Seeded(ulong seed, ulong stream)
    {
        var rng = new Pcg32(0, (stream << 1) | 1);
        rng.NextUInt32();
        rng.State = unchecked(rng.State + seed);
        rng.NextUInt32();
        return rng;
    }

    /// <summary>A generator continuing from a saved <see cref="State"/> and <see cref="Increment"/>.</summary>
    public static Pcg32 FromState(ulong state, ulong increment) => new(state, increment | 1);

    public uint NextUInt32()
    {
        ulong old = State;
        State = unchecked(old * Multiplier + Increment);
        uint xorShifted = (uint)(((old >> 18) ^ old) >> 27);
        int rotation = (int)(old >> 59);
        return (xorShifted >> rotation) | (xorShifted << (-rotation & 31));
    }

    /// <summary>Uniform in [0, 1) from the top 24 bits: every value is an exact float.</summary>
    public float NextFloat() => (NextUInt32() >> 8) * (1f / (1 << 24));
}
