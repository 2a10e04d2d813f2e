namespace PolledNvme.Bench.Run;

/// <summary>
/// A job's random stream: xorshift64* (fast, full period, no allocation), seeded per job and
/// per use from the run's seed (splitmix64), so jobs and streams do not repeat each other.
/// </summary>
public struct JobRandom
{
    private ulong _state;

    /// <summary>Seeds the stream <paramref name="stream"/> of job <paramref name="job"/> from <paramref name="seed"/>.</summary>
    public JobRandom(ulong seed, int job, int stream = 0)
    {
        ulong z = seed + (ulong)(job + 1) * 0x9E3779B97F4A7C15 + (ulong)stream * 0xD1B54A32D192ED03;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        z ^= z >> 31;
        _state = z == 0 ? 1 : z;
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong Next()
    {
        ulong x = _state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        _state = x;
        return x * 0x2545F4914F6CDD1D;
    }

    /// <summary>A uniform integer in [0, <paramref name="n"/>).</summary>
    public long Below(long n) => (long)Math.BigMul(Next(), (ulong)n, out _);

    /// <summary>A uniform double in [0, 1).</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>fio's __rand for its 32-bit generator: a uniform value in [0, 2^32 - 1].</summary>
    public uint Next32() => (uint)(Next() >> 32);
}
