using PolledNvme.Bench.Options;

namespace PolledNvme.Bench.Engines;

/// <summary>Opens the benchmark target a <c>--device</c> string names.</summary>
public static class DeviceTargets
{
    /// <summary>
    /// Opens <paramref name="device"/> for <c>pnvme bench</c>; null means the default device (a PI
    /// type 1 emulated namespace on a temp file, removed afterwards). On failure returns null and
    /// sets <paramref name="error"/> (a <see cref="UsageException"/> for a malformed string).
    /// </summary>
    public static IBenchTarget? OpenForBench(string? device, TextWriter log, out Exception? error)
    {
        error = null;
        try
        {
            return Open(device);
        }
        catch (UsageException e)
        {
            error = e;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or ArgumentException)
        {
            error = new IOException($"--device {device}: {e.Message}", e);
        }
        return null;
    }

    private static IBenchTarget Open(string? device)
    {
        string kind = device is null ? "emu" : device.Split(':', 2)[0];
        throw new UsageException("--device", $"'{device}': unknown kind '{kind}' (use emu:, mem:, null:, pci: or uring:)");
    }
}
