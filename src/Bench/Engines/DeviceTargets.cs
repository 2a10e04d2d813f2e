using PolledNvme.Bench.Options;
using PolledNvme.Driver;
using PolledNvme.Driver.Emulated;

namespace PolledNvme.Bench.Engines;

/// <summary>Opens the benchmark target a <c>--device</c> string names.</summary>
public static class DeviceTargets
{
    /// <summary>
    /// Opens <paramref name="device"/> for <c>pnvme bench</c>; null means the default device (a PI
    /// type 1 emulated namespace on a temp file, removed afterwards). On failure returns null and
    /// sets <paramref name="error"/> (a <see cref="UsageException"/> for a malformed string).
    /// </summary>
    /// <param name="device">The device string, or null for the default device.</param>
    /// <param name="log">Unused; kept for callers.</param>
    /// <param name="error">Set on failure.</param>
    /// <param name="direct">The default device's direct= (fio's direct option); other devices carry it in their string.</param>
    /// <param name="layoutProgress">Told the bytes done and in all while a uring: file is laid out.</param>
    /// <param name="defaultBytes">Bytes the default device must hold (it grows past 1 GiB for jobs that need it).</param>
    public static IBenchTarget? OpenForBench(string? device, TextWriter log, out Exception? error, bool? direct = null,
        Action<long, long>? layoutProgress = null, long defaultBytes = 0)
    {
        error = null;
        try
        {
            return Open(device, direct, layoutProgress, defaultBytes);
        }
        catch (UsageException e)
        {
            error = e;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or ArgumentException or NotSupportedException or NvmeException or NvmeControllerException or Queues.Uring.UringException)
        {
            error = new IOException($"--device {device}: {e.Message}", e);
        }
        return null;
    }

    /// <summary>The namespace of the default device: 4 KiB blocks, 8 bytes of metadata, PI type 1 (16b guard, last), 1 GiB.</summary>
    // direct=0: the default job measures the stack (queues, PI, emulated controller) through the
    // page cache; with O_DIRECT a temp file on a plain disk would make it a disk benchmark.
    public const string DefaultNamespaceOptions = "lbads=4096,ms=8,pi=1,size=1G,direct=0";

    /// <summary>A temp file path for the default device.</summary>
    public static string DefaultDevicePath() => Path.Combine(Path.GetTempPath(), $"pnvme-{Environment.ProcessId}-{Guid.NewGuid():N}.img");

    /// <summary>
    /// Opens the controller a device string names: the emulated controller for <c>emu:</c>,
    /// <c>mem:</c> and <c>null:</c> (created here, so its <see cref="EmulatedController.Faults"/>
    /// stay reachable through <paramref name="emulated"/>), the driver's transports otherwise.
    /// </summary>
    public static NvmeController OpenController(string device, out EmulatedController? emulated)
    {
        emulated = null;
        if (device.StartsWith("emu:", StringComparison.Ordinal) || device.StartsWith("mem:", StringComparison.Ordinal) || device.StartsWith("null:", StringComparison.Ordinal))
        {
            var emu = EmulatedController.Create(EmulatedControllerOptions.Parse(device));
            emulated = emu;
            try
            {
                return NvmeController.Open(emu.Transport, ownsTransport: true, emulated: true);
            }
            catch (NvmeControllerException e) when (emu.LastEnableError is { } why)
            {
                throw new NvmeControllerException($"{e.Message} The emulated controller says: {why}", e.ControllerStatus, e.IsFatal);
            }
        }
        return NvmeController.Open(device);
    }

    /// <summary>Like <see cref="OpenController(string, out EmulatedController?)"/>.</summary>
    public static NvmeController OpenController(string device) => OpenController(device, out _);

    private static IBenchTarget Open(string? device, bool? direct, Action<long, long>? layoutProgress, long defaultBytes)
    {
        if (device is null)
        {
            string path = DefaultDevicePath();
            try
            {
                // Jobs pin from core 0 up; the emulated controller's device thread gets the last core.
                string cpu = Environment.ProcessorCount > 1 ? $",cpu={Environment.ProcessorCount - 1}" : "";
                string options = direct is { } d ? DefaultNamespaceOptions.Replace("direct=0", d ? "direct=1" : "direct=0", StringComparison.Ordinal) : DefaultNamespaceOptions;
                if (defaultBytes > 1L << 30)
                    options = options.Replace("size=1G", $"size={(defaultBytes + 4095) / 4096 * 4096}", StringComparison.Ordinal);
                return new NvmeBenchTarget(OpenController($"emu:{path},{options}{cpu}"), deleteOnDispose: path);
            }
            catch
            {
                File.Delete(path);
                File.Delete(path + NvmeBenchTarget.FormatRecordSuffix);
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
                return new NvmeBenchTarget(OpenController(device));
            case "uring":
                return new UringBenchTarget(device, layoutProgress);
            default:
                throw new UsageException("--device", $"'{device}': unknown kind '{kind}' (use emu:, mem:, null:, pci: or uring:)");
        }
    }
}
