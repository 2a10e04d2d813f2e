using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using PolledNvme.Driver.Vfio;

namespace PolledNvme.Driver.Transport;

/// <summary>
/// Maps the scheme of a device string (<c>pci:0000:01:00.0</c> → <c>pci</c>) to the function
/// that opens its transport. <see cref="NvmeController.Open(string, NvmeControllerOptions?)"/>
/// and pnvme's <c>--device</c> both go through it. Built in: <c>pci</c> (VFIO) and <c>tcp</c> (NVMe/TCP). The
/// PolledNvme.Emulation package registers <c>emu</c>, <c>mem</c> and <c>null</c> when an
/// application references it: its module initializer runs when the assembly is first used, and
/// because a referenced assembly that nothing touched yet is not loaded, an unknown scheme
/// first makes the registry load that assembly by name once (a constant type name, safe under
/// trimming and NativeAOT) before it gives up. Thread-safe; not on any I/O path.
/// </summary>
public static class TransportRegistry
{
    /// <summary>Where the emulated controller's schemes come from (loaded by name when a scheme is unknown).</summary>
    internal const string EmulationTypeName = "PolledNvme.Emulation.EmulatedTransports, PolledNvme.Emulation";

    /// <summary>The schemes the emulation package registers, for the message when it is missing.</summary>
    internal static readonly string[] EmulationSchemes = ["emu", "mem", "null"];

    private static readonly Lock s_lock = new();
    private static readonly Dictionary<string, Func<string, NvmeTransport>> s_openers = new(StringComparer.Ordinal)
    {
        [PciAddress.Scheme.TrimEnd(':')] = OpenPci,
        [Tcp.NvmeTcpOptions.Scheme] = Tcp.NvmeTcpTransport.Open,
    };
    private static bool s_emulationProbed;

    /// <summary>A malformed PCI address is a bad device string like any other: ArgumentException naming it.</summary>
    private static NvmeTransport OpenPci(string address) => VfioTransport.Open(address);

    /// <summary>The registered schemes (without the colon), sorted.</summary>
    public static IReadOnlyList<string> Schemes
    {
        get
        {
            lock (s_lock)
                return s_openers.Keys.Order(StringComparer.Ordinal).ToArray();
        }
    }

    /// <summary>
    /// Registers <paramref name="open"/> for device strings that start with
    /// <paramref name="scheme"/><c>:</c>. <paramref name="open"/> gets the whole device string
    /// and returns a new transport, which the caller owns; it throws
    /// <see cref="ArgumentException"/> for a malformed string.
    /// </summary>
    /// <param name="scheme">Lower-case letters, digits, '+', '-' or '.', starting with a letter; with or without the trailing colon.</param>
    /// <param name="open">Opens the transport for a device string of this scheme.</param>
    /// <exception cref="ArgumentException">The scheme is not well formed.</exception>
    /// <exception cref="InvalidOperationException">The scheme is already registered.</exception>
    public static void Register(string scheme, Func<string, NvmeTransport> open)
    {
        ArgumentNullException.ThrowIfNull(open);
        string name = Normalize(scheme);
        lock (s_lock)
        {
            if (!s_openers.TryAdd(name, open))
                throw new InvalidOperationException($"Device scheme '{name}:' is already registered: each scheme has one transport (registered now: {string.Join(", ", s_openers.Keys.Order(StringComparer.Ordinal).Select(s => s + ":"))}).");
        }
    }

    /// <summary>
    /// True when <paramref name="scheme"/> (with or without the colon) is registered, after
    /// loading the emulation package if it is present; false for anything that is not a scheme.
    /// </summary>
    public static bool IsRegistered(string scheme)
        => !string.IsNullOrEmpty(scheme) && IsWellFormed(scheme.EndsWith(':') ? scheme[..^1] : scheme, out string name) && TryGet(name, out _);

    /// <summary>Opens the transport for <paramref name="address"/> through its scheme's registered opener; the caller owns it.</summary>
    /// <exception cref="ArgumentException">No scheme, or an unknown one (the message lists those registered and what adds the missing ones), or the opener refused the rest of the string.</exception>
    public static NvmeTransport Open(string address)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(address);
        int colon = address.IndexOf(':');
        if (colon <= 0)
            throw new ArgumentException($"'{address}' is not a device string: expected SCHEME:..., with one of the schemes {List()}.", nameof(address));
        string scheme = address[..colon];
        if (!TryGet(scheme, out Func<string, NvmeTransport>? open))
            throw new ArgumentException(UnknownSchemeMessage(address, scheme, Schemes), nameof(address));
        return open(address);
    }

    /// <summary>The error for a device string whose scheme nobody registered: what is registered, and the package that adds the emulated schemes.</summary>
    internal static string UnknownSchemeMessage(string address, string scheme, IReadOnlyCollection<string> registered)
    {
        string message = $"Unknown device scheme '{scheme}:' in '{address}' (registered: {List(registered)})";
        if (EmulationSchemes.Contains(scheme) && !registered.Contains(scheme))
            message += $"; {string.Join(", ", EmulationSchemes.Select(s => s + ":"))} are the emulated controller's and need the PolledNvme.Emulation package: reference it";
        return message + ".";
    }

    private static bool TryGet(string scheme, [NotNullWhen(true)] out Func<string, NvmeTransport>? open)
    {
        lock (s_lock)
        {
            if (s_openers.TryGetValue(scheme, out open))
                return true;
        }
        LoadEmulationOnce();
        lock (s_lock)
            return s_openers.TryGetValue(scheme, out open);
    }

    /// <summary>
    /// Loads PolledNvme.Emulation if the application has it and runs its module initializer
    /// (which registers its schemes); once per process, whatever it finds.
    /// </summary>
    private static void LoadEmulationOnce()
    {
        lock (s_lock)
        {
            if (s_emulationProbed)
                return;
            s_emulationProbed = true;
        }
        Type? type;
        try
        {
            type = Type.GetType(EmulationTypeName, throwOnError: false);
        }
        catch (Exception e) when (e is IOException or BadImageFormatException)
        {
            return;   // present but unloadable: the unknown-scheme message says what is missing
        }
        if (type is not null)
            RuntimeHelpers.RunModuleConstructor(type.Module.ModuleHandle);
    }

    private static string Normalize(string scheme)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(scheme);
        if (!IsWellFormed(scheme.EndsWith(':') ? scheme[..^1] : scheme, out string name))
            throw new ArgumentException($"Device scheme '{scheme}' is not valid: use lower-case letters, digits, '+', '-' or '.', starting with a letter (e.g. 'tcp').", nameof(scheme));
        return name;
    }

    private static bool IsWellFormed(string candidate, out string name)
    {
        name = candidate;
        return candidate.Length != 0 && char.IsAsciiLetterLower(candidate[0])
            && candidate.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '+' or '-' or '.');
    }

    private static string List() => List(Schemes);

    private static string List(IReadOnlyCollection<string> schemes) => schemes.Count == 0 ? "none" : string.Join(", ", schemes.Select(s => s + ":"));
}
