using PolledNvme.Bench.Options;
using PolledNvme.Driver;
using PolledNvme.Queues;
using PolledNvme.Driver.Transport;

namespace PolledNvme.Bench.Engines;

/// <summary>Opens the benchmark target a <c>--device</c> string names.</summary>
public static class DeviceTargets
{
    /// <summary>
    /// Opens <paramref name="device"/> for <c>pnvme bench</c>; null means the default device (a PI
    /// type 1 emulated namespace on a temp file, removed afterwards). On failure returns null and
    /// sets <paramref name="error"/> (a <see cref="UsageException"/> for a malformed string).
    /// <paramref name="writes"/> says whether the run writes: a read-only run on <c>uring:</c>
    /// shares the file with other readers.
    /// </summary>
    public static IBenchTarget? OpenForBench(string? device, TextWriter log, out Exception? error, bool writes = true)
    {
        error = null;
        try
        {
            return Open(device, writes);
        }
        catch (UsageException e)
        {
            error = e;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or ArgumentException or NotSupportedException or NvmeException or NvmeControllerException or PolledNvme.Uring.UringException)
        {
            error = new IOException($"--device {device}: {e.Message}", e);
        }
        return null;
    }

    /// <summary>The scheme of pnvme's io_uring target.</summary>
    public const string UringScheme = "uring";

    /// <summary>The namespace of the default device: 4 KiB blocks, 8 bytes of metadata, PI type 1 (16b guard, last), 1 GiB.</summary>
    // direct=0: the default job measures the stack (queues, PI, emulated controller) through the
    // page cache; with O_DIRECT a temp file on a plain disk would make it a disk benchmark.
    public const string DefaultNamespaceOptions = "lbads=4096,ms=8,pi=1,size=1G,direct=0";

    /// <summary>A temp file path for the default device.</summary>
    public static string DefaultDevicePath() => Path.Combine(Path.GetTempPath(), $"pnvme-{Environment.ProcessId}-{Guid.NewGuid():N}.img");

    /// <summary>
    /// Opens the NVMe controller a device string names, through the driver's transport registry
    /// (<c>pci:</c>; <c>emu:</c>, <c>mem:</c> and <c>null:</c> from the emulation package). An
    /// emulated controller's fault injector stays reachable through its transport.
    /// </summary>
    public static NvmeController OpenController(string device, NvmeControllerOptions? options = null) => NvmeController.Open(device, options);

    private static IBenchTarget Open(string? device, bool writes)
    {
        if (device is null)
        {
            string path = DefaultDevicePath();
            try
            {
                // Jobs pin from core 0 up; the emulated controller's device thread gets the last core.
                string cpu = Environment.ProcessorCount > 1 ? $",cpu={CoreAffinity.LastAllowedCpu()}" : "";
                return new NvmeBenchTarget(OpenController($"emu:{path},{DefaultNamespaceOptions}{cpu}"), deleteOnDispose: path);
            }
            catch
            {
                File.Delete(path);
                File.Delete(path + NvmeBenchTarget.FormatRecordSuffix);
                throw;
            }
        }
        string kind = device.Split(':', 2)[0];
        // uring: is pnvme's own target (the kernel's path, not an NVMe controller); every other scheme is the registry's.
        if (kind == UringScheme)
            return new UringBenchTarget(device, writes);
        if (!device.Contains(':') || !TransportRegistry.IsRegistered(kind))
            throw new UsageException("--device", $"'{device}': unknown kind '{kind}' (use {string.Join(", ", TransportRegistry.Schemes.Append(UringScheme).Select(s => s + ":"))})");
        return new NvmeBenchTarget(OpenController(device));
    }
}
