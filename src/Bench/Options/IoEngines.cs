namespace PolledNvme.Bench.Options;

/// <summary>
/// fio's <c>ioengine</c> names and what pnvme runs for each: <c>null</c> on <c>null:</c> (the
/// emulated controller without media), the kernel's engines on <c>uring:FILE</c> (pnvme's
/// io_uring path on the same file), <c>pnvme</c> on the job's device.
/// </summary>
public static class IoEngines
{
    /// <summary>The null engine.</summary>
    public const string Null = "null";
    /// <summary>pnvme's own engine (the default).</summary>
    public const string Pnvme = "pnvme";

    /// <summary>fio engines that go through the kernel's block layer: pnvme runs them on uring:FILE.</summary>
    public static readonly string[] Kernel = ["io_uring", "libaio", "psync", "sync", "pvsync", "pvsync2", "vsync", "posixaio"];

    /// <summary>Checks an engine name; returns it.</summary>
    public static string Check(string flag, string engine) =>
        engine == Null || engine == Pnvme || Kernel.Contains(engine)
            ? engine
            : throw new UsageException(flag, $"'{engine}' is not available: pnvme runs {Pnvme} (the device's own path), {Null} (on null:) and the kernel engines {string.Join(", ", Kernel)} (through io_uring on uring:FILE)");

    /// <summary>Whether <paramref name="engine"/> is one of the kernel's.</summary>
    public static bool IsKernel(string? engine) => engine is not null && Kernel.Contains(engine);
}
