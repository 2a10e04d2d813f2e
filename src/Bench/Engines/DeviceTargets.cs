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
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or ArgumentException or NotSupportedException or Driver.NvmeException or Driver.NvmeControllerException)
        {
            error = new IOException($"--device {device}: {e.Message}", e);
        }
        return null;
    }

    /// <summary>The namespace of the default device: 4 KiB blocks, 8 bytes of metadata, PI type 1 (16b guard, last), 1 GiB.</summary>
    public const string DefaultNamespaceOptions = "lbads=4096,ms=8,pi=1,size=1G";

    /// <summary>A temp file path for the default device.</summary>
    public static string DefaultDevicePath() => Path.Combine(Path.GetTempPath(), $"pnvme-{Environment.ProcessId}-{Guid.NewGuid():N}.img");

    private static IBenchTarget Open(string? device)
    {
        if (device is null)
        {
            string path = DefaultDevicePath();
            try
            {
                return new NvmeBenchTarget(Driver.NvmeController.Open($"emu:{path},{DefaultNamespaceOptions}"), deleteOnDispose: path);
            }
            catch
            {
                File.Delete(path);
                throw;
            }
        }
        string kind = device.Split(':', 2)[0];
        switch (kind)
        {
            case "emu":
            case "mem":
            case "null":
            case "pci":
                return new NvmeBenchTarget(Driver.NvmeController.Open(device));
            default:
                throw new UsageException("--device", $"'{device}': unknown kind '{kind}' (use emu:, mem:, null:, pci: or uring:)");
        }
    }
}
