using PolledNvme.Bench.Options;
using PolledNvme.Driver;
using PolledNvme.Emulation;
using PolledNvme.Emulation.Media;
using PolledNvme.Queues;

namespace PolledNvme.Bench.Engines;

/// <summary>Opens the benchmark target or the controller a parsed <c>--device</c> string names.</summary>
public static class DeviceTargets
{
    /// <summary>The namespace of the default device: 4 KiB blocks, 8 bytes of metadata, PI type 1 (16b guard, last), 1 GiB.</summary>
    // direct=0: the default job measures the stack (queues, PI, emulated controller) through the
    // page cache; with O_DIRECT a temp file on a plain disk would make it a disk benchmark.
    public const string DefaultNamespaceOptions = "lbads=4096,ms=8,pi=1,size=1G,direct=0";

    /// <summary>A temp file path for the default device.</summary>
    public static string DefaultDevicePath() => Path.Combine(Path.GetTempPath(), $"pnvme-{Environment.ProcessId}-{Guid.NewGuid():N}.img");

    /// <summary>
    /// Opens the target of <paramref name="spec"/> for <c>pnvme bench</c>. The default device's
    /// temp image (and its format record) is registered with <see cref="TemporaryFiles"/>, so a
    /// signal that ends the process removes it too.
    /// </summary>
    /// <param name="spec">The parsed device string.</param>
    /// <param name="writes">Whether the run writes: a read-only run on <c>uring:</c> shares the file with other readers.</param>
    /// <param name="direct">The default device's <c>direct=</c> (fio's <c>direct</c> option; null = page cache); other devices carry it in their string.</param>
    /// <param name="defaultBytes">Bytes the default device must hold: it grows past 1 GiB for the jobs that need it.</param>
    /// <exception cref="UsageException">The device does not fit the string (e.g. an image recorded with another format).</exception>
    public static IBenchTarget OpenForBench(DeviceSpec spec, bool writes = true, bool? direct = null, long defaultBytes = 0)
    {
        switch (spec.Kind)
        {
            case DeviceKind.Default:
                string path = DefaultDevicePath();
                string[] files = [path, EmulatedImageFiles.FormatRecordOf(path)];
                TemporaryFiles.Add(files);
                try
                {
                    // Jobs pin from the lowest allowed core up; the emulated controller's device thread gets the last one.
                    string cpu = Environment.ProcessorCount > 1 ? $",cpu={CoreAffinity.LastAllowedCpu()}" : "";
                    return WrapController(OpenController(DeviceSpec.Parse($"emu:{path},{DefaultOptions(direct, defaultBytes)}{cpu}")), retainsData: true, deleteOnDispose: path);
                }
                catch
                {
                    TemporaryFiles.Delete(files);
                    throw;
                }
            case DeviceKind.Uring:
                return new UringBenchTarget(spec.Uring!, writes);
            default:
                return WrapController(OpenController(spec), spec.RetainsData, deleteOnDispose: null);
        }
    }

    // The default namespace with fio's direct and a size that holds the jobs' regions (whole 4 KiB blocks).
    private static string DefaultOptions(bool? direct, long bytes)
    {
        string options = direct == true ? DefaultNamespaceOptions.Replace("direct=0", "direct=1", StringComparison.Ordinal) : DefaultNamespaceOptions;
        return bytes > 1L << 30
            ? options.Replace("size=1G", string.Create(System.Globalization.CultureInfo.InvariantCulture, $"size={(bytes + 4095) / 4096 * 4096}"), StringComparison.Ordinal)
            : options;
    }

    private static NvmeBenchTarget WrapController(NvmeController controller, bool retainsData, string? deleteOnDispose)
    {
        try
        {
            return new NvmeBenchTarget(controller, deleteOnDispose: deleteOnDispose) { RetainsData = retainsData };
        }
        catch
        {
            controller.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens the controller of <paramref name="spec"/> through the driver's transport registry
    /// (<c>pci:</c>; <c>emu:</c>, <c>mem:</c> and <c>null:</c> registered by the emulation
    /// package), like <see cref="NvmeController.Open(string, NvmeControllerOptions?)"/>. The one
    /// exception is a <see cref="DeviceSpec.Probe"/>: a stand-in with no file behind it, built from
    /// the parsed options, only for checking flags before an image is created or re-laid.
    /// An emulated controller's fault injector stays reachable through
    /// <see cref="EmulatedController.FromTransport"/>.
    /// </summary>
    /// <param name="spec">The parsed device string.</param>
    /// <param name="options">The driver's options (e.g. a longer admin timeout for Format NVM); null for the defaults.</param>
    /// <exception cref="UsageException">The string names the kernel path, or a format the image was not laid out with.</exception>
    public static NvmeController OpenController(DeviceSpec spec, NvmeControllerOptions? options = null)
    {
        if (spec.Kind is DeviceKind.Uring or DeviceKind.Default)
            throw DeviceSpec.NotAController();
        try
        {
            if (spec.IsProbe)
            {
                EmulatedController probe = EmulatedController.Create(spec.Emulated!);
                try
                {
                    return NvmeController.Open(probe.Transport, options, ownsTransport: true);
                }
                catch
                {
                    probe.Dispose();
                    throw;
                }
            }
            return NvmeController.Open(spec.Text!, options);
        }
        catch (MediaFormatMismatchException e) when (e is not MediaFormatRecordDamagedException)
        {
            // The string names another format than the image holds: the fix is on the command line (the
            // message says which). A damaged record is the image's failure, not the command line's: exit 1.
            throw new UsageException("--device", e.Message, e);
        }
        catch (ArgumentException e)
        {
            throw new UsageException("--device", DeviceSpec.Naming(spec.Text, DeviceSpec.MessageOf(e)), e);
        }
    }

    /// <summary>Parses <paramref name="device"/> and opens its controller (see <see cref="OpenController(DeviceSpec, NvmeControllerOptions?)"/>).</summary>
    public static NvmeController OpenController(string device, NvmeControllerOptions? options = null)
        => OpenController(DeviceSpec.ParseController(device), options);
}
