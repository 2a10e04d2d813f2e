using PolledNvme.Uring;

namespace PolledNvme.Tests.Uring;

/// <summary>Temp files on a real filesystem (O_DIRECT and hole punching need one) and small I/O helpers.</summary>
internal sealed class UringTempDirectory : IDisposable
{
    public UringTempDirectory()
    {
        // /tmp may be tmpfs on some machines; the system temp dir is what CI has. O_DIRECT tests check support.
        Path = Directory.CreateTempSubdirectory("pnvme-uring-").FullName;
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

internal static unsafe class UringTestIo
{
    /// <summary>Submits what is prepared and waits for exactly one completion.</summary>
    public static UringCqe SubmitOne(UringRing ring)
    {
        ring.Submit();
        return ring.WaitCompletion();
    }

    /// <summary>Deterministic, block-distinct bytes: a pattern that never repeats between blocks of a test.</summary>
    public static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
