using PolledNvme.Bench.Options;
using PolledNvme.Driver.Tcp;
using PolledNvme.Driver.Transport;
using PolledNvme.Emulation;
using PolledNvme.Emulation.Media;
using PolledNvme.Driver.Vfio;

namespace PolledNvme.Bench.Engines;

/// <summary>What kind of device a <c>--device</c> string names.</summary>
public enum DeviceKind
{
    /// <summary>No <c>--device</c>: the benchmark's PI type 1 namespace on a temp file.</summary>
    Default,
    /// <summary><c>emu:</c>, <c>mem:</c> or <c>null:</c>: the emulated controller.</summary>
    Emulated,
    /// <summary><c>pci:</c>: a real controller through VFIO.</summary>
    Pci,
    /// <summary>Another scheme of the driver's transport registry: opened through it, checked when it opens.</summary>
    Registered,
    /// <summary><c>uring:</c>: a file or block device through the kernel's io_uring path.</summary>
    Uring,
}

/// <summary>
/// A <c>--device</c> string, parsed and checked before anything is opened: every kind, every key,
/// keys given twice or contradicting each other are refused here as a <see cref="UsageException"/>
/// naming <c>--device</c> and the key (exit 2), so no bad string reaches the device. The parsing
/// itself is the library's (<see cref="EmulatedControllerOptions.Parse"/>, <see cref="PciAddress.Parse"/>)
/// or <see cref="UringDeviceOptions.Parse"/>; this only routes and translates.
/// </summary>
public sealed class DeviceSpec
{
    private DeviceSpec(string? text, DeviceKind kind, EmulatedControllerOptions? emulated, UringDeviceOptions? uring, bool? retainsData = null, bool probe = false)
    {
        Text = text;
        IsProbe = probe;
        Kind = kind;
        Emulated = emulated;
        Uring = uring;
        RetainsData = retainsData ?? emulated?.Namespaces.All(n => n.Backend != MediaBackendKind.Null) ?? true;
    }

    /// <summary>The string as given; null for the default device.</summary>
    public string? Text { get; }

    /// <summary>True for a <see cref="Probe"/>: opened from <see cref="Emulated"/>, never from <see cref="Text"/>.</summary>
    public bool IsProbe { get; }

    /// <summary>The kind of device.</summary>
    public DeviceKind Kind { get; }

    /// <summary>The emulated controller's options (<see cref="DeviceKind.Emulated"/>).</summary>
    public EmulatedControllerOptions? Emulated { get; }

    /// <summary>The kernel path's options (<see cref="DeviceKind.Uring"/>).</summary>
    public UringDeviceOptions? Uring { get; }

    /// <summary>Whether data written can be read back: false for <c>null:</c>.</summary>
    public bool RetainsData { get; }

    /// <summary>
    /// Whether opening the device writes its file: an <c>emu:</c> image that is created, or laid
    /// out again (<c>format=1</c>). Flags are then checked against <see cref="Probe"/> first, so
    /// a usage error leaves the file untouched.
    /// </summary>
    public bool WritesOnOpen => Emulated?.Namespaces.Any(n => n.Backend == MediaBackendKind.File && !n.ReadOnly
        && (n.FormatMedia || !File.Exists(n.FilePath) || new FileInfo(n.FilePath!).Length == 0)) ?? false;

    /// <summary>
    /// The same controller and namespaces on the null backend: identical geometry and limits,
    /// no file touched. Only for checking flags before <see cref="WritesOnOpen"/> devices are opened.
    /// </summary>
    public DeviceSpec Probe()
    {
        if (Emulated is null) return this;
        var options = Emulated.Clone();
        foreach (var ns in options.Namespaces.Where(n => n.Backend == MediaBackendKind.File))
        {
            ns.Backend = MediaBackendKind.Null;
            ns.FilePath = null;
            ns.FormatMedia = false;
        }
        return new DeviceSpec(Text, Kind, options, null, RetainsData, probe: true);
    }

    /// <summary>
    /// The files the device keeps its data in (an <c>emu:</c> image and its format record, a
    /// <c>uring:</c> file), existing or not: outputs must never name them.
    /// </summary>
    public IReadOnlyList<string> DataFiles
    {
        get
        {
            if (Uring is { } u) return [u.Path];
            if (Emulated is null) return [];
            return Emulated.Namespaces.Where(n => n.Backend == MediaBackendKind.File && n.FilePath is not null)
                .SelectMany(n => new[] { n.FilePath!, EmulatedImageFiles.FormatRecordOf(n.FilePath!) }).ToArray();
        }
    }

    /// <summary>Parses a <c>--device</c> value for <c>pnvme bench</c> (null = the default device).</summary>
    /// <exception cref="UsageException">The string is malformed; the message names <c>--device</c> and the key.</exception>
    public static DeviceSpec Parse(string? text) => Parse(text, kernelPathAllowed: true);

    private static DeviceSpec Parse(string? text, bool kernelPathAllowed)
    {
        if (text is null) return new DeviceSpec(null, DeviceKind.Default, null, null);
        if (text.Length == 0) throw new UsageException("--device", "must not be empty (emu:PATH[,...], mem:[...], null:[...], pci:DDDD:BB:DD.F or uring:PATH)");
        int colon = text.IndexOf(':');
        string kind = colon < 0 ? "" : text[..colon];
        switch (kind)
        {
            case "emu" or "mem" or "null":
                try
                {
                    return new DeviceSpec(text, DeviceKind.Emulated, EmulatedControllerOptions.Parse(text), null);
                }
                catch (ArgumentException e)
                {
                    throw new UsageException("--device", Naming(text, MessageOf(e)), e);
                }
            case "pci":
                try
                {
                    PciDeviceString.Parse(text);
                }
                catch (ArgumentException e)
                {
                    throw new UsageException("--device", MessageOf(e), e);
                }
                return new DeviceSpec(text, DeviceKind.Pci, null, null);
            case NvmeTcpOptions.Scheme:
                try
                {
                    NvmeTcpOptions.Parse(text);
                }
                catch (ArgumentException e)
                {
                    throw new UsageException("--device", Naming(text, MessageOf(e)), e);
                }
                return new DeviceSpec(text, DeviceKind.Registered, null, null);
            case "uring":
                return new DeviceSpec(text, DeviceKind.Uring, null, UringDeviceOptions.Parse(text));
            default:
                if (colon > 0 && TransportRegistry.IsRegistered(kind))
                    return new DeviceSpec(text, DeviceKind.Registered, null, null);
                var schemes = kernelPathAllowed ? TransportRegistry.Schemes.Append(UringDeviceOptions.Scheme.TrimEnd(':')) : TransportRegistry.Schemes;
                string kinds = string.Join(", ", schemes.Select(s => s + ":"));
                throw new UsageException("--device", colon < 0
                    ? $"'{text}' has no kind; use one of {kinds} (e.g. emu:PATH[,key=value...], mem:[key=value,...], pci:DDDD:BB:DD.F{(kernelPathAllowed ? ", uring:PATH" : "")})"
                    : $"'{text}': unknown kind '{kind}:' (use one of {kinds})");
        }
    }

    /// <summary>Parses a <c>--device</c> value for the NVMe tools: an NVMe controller, so not <c>uring:</c>.</summary>
    /// <exception cref="UsageException">The string is malformed or names the kernel path.</exception>
    public static DeviceSpec ParseController(string text)
    {
        if (text.StartsWith(UringDeviceOptions.Scheme, StringComparison.Ordinal))
            throw NotAController();
        return Parse(text, kernelPathAllowed: false);
    }

    /// <summary>The refusal of <c>uring:</c> where an NVMe controller is needed.</summary>
    internal static UsageException NotAController()
        => new("--device", "uring: is the kernel's io_uring path, for pnvme bench only; NVMe commands need a controller: emu:PATH, mem:, null: or pci:DDDD:BB:DD.F");

    /// <summary>The message, with the device string in front unless it already names it.</summary>
    internal static string Naming(string? text, string message)
        => text is null || message.Contains(text, StringComparison.Ordinal) ? message : $"'{text}': {message}";

    /// <summary>An <see cref="ArgumentException"/>'s message without the " (Parameter 'x')" the runtime appends.</summary>
    internal static string MessageOf(ArgumentException e)
    {
        string message = e.Message;
        string suffix = $" (Parameter '{e.ParamName}')";
        return e.ParamName is not null && message.EndsWith(suffix, StringComparison.Ordinal) ? message[..^suffix.Length] : message;
    }
}
