using System.Globalization;

namespace PolledNvme.Driver.Vfio;

/// <summary>
/// A PCI function address in the kernel's sysfs form <c>DDDD:BB:DD.F</c>
/// (domain, bus, device, function), parsed from <c>pci:0000:01:00.0</c> or a bare BDF.
/// </summary>
public readonly record struct PciAddress
{
    /// <summary>The transport prefix of device strings handled by VFIO.</summary>
    public const string Scheme = "pci:";

    /// <summary>PCI segment (domain), 0..FFFF.</summary>
    public int Domain { get; }
    /// <summary>Bus number, 0..FF.</summary>
    public int Bus { get; }
    /// <summary>Device number, 0..1F.</summary>
    public int Device { get; }
    /// <summary>Function number, 0..7.</summary>
    public int Function { get; }

    /// <summary>Builds an address from its parts, checking each range.</summary>
    public PciAddress(int domain, int bus, int device, int function)
    {
        if ((uint)domain > 0xFFFF) throw new ArgumentOutOfRangeException(nameof(domain), domain, "PCI domain must be 0..FFFF.");
        if ((uint)bus > 0xFF) throw new ArgumentOutOfRangeException(nameof(bus), bus, "PCI bus must be 0..FF.");
        if ((uint)device > 0x1F) throw new ArgumentOutOfRangeException(nameof(device), device, "PCI device must be 0..1F.");
        if ((uint)function > 7) throw new ArgumentOutOfRangeException(nameof(function), function, "PCI function must be 0..7.");
        Domain = domain; Bus = bus; Device = device; Function = function;
    }

    /// <summary>
    /// Parses <c>pci:DDDD:BB:DD.F</c>, <c>DDDD:BB:DD.F</c> or <c>BB:DD.F</c> (domain 0), hex digits,
    /// as lspci -D and sysfs print them.
    /// </summary>
    /// <exception cref="FormatException">The text is not such an address; the message says which part is wrong.</exception>
    public static PciAddress Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (TryParse(text, out PciAddress address, out string? error)) return address;
        throw new FormatException($"'{text}' is not a PCI address: {error} (expected pci:DDDD:BB:DD.F or DDDD:BB:DD.F, e.g. pci:0000:01:00.0).");
    }

    /// <summary>Parses like <see cref="Parse"/>; returns false instead of throwing.</summary>
    public static bool TryParse(string? text, out PciAddress address) => TryParse(text, out address, out _);

    private static bool TryParse(string? text, out PciAddress address, out string? error)
    {
        address = default;
        if (string.IsNullOrEmpty(text)) { error = "it is empty"; return false; }
        ReadOnlySpan<char> s = text;
        if (s.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase)) s = s[Scheme.Length..];
        if (s.IsEmpty) { error = $"it is empty after '{Scheme}'"; return false; }

        int dot = s.LastIndexOf('.');
        if (dot < 0) { error = "the function number after '.' is missing"; return false; }
        ReadOnlySpan<char> head = s[..dot];
        ReadOnlySpan<char> functionText = s[(dot + 1)..];

        int domain = 0;
        int firstColon = head.IndexOf(':');
        int lastColon = head.LastIndexOf(':');
        if (firstColon < 0) { error = "the bus number before ':' is missing"; return false; }
        if (firstColon != lastColon)
        {
            if (head[(firstColon + 1)..].IndexOf(':') != lastColon - firstColon - 1) { error = "too many ':'"; return false; }
            if (!TryHex(head[..firstColon], 4, 0xFFFF, out domain)) { error = "the domain must be 1-4 hex digits"; return false; }
            head = head[(firstColon + 1)..];
            lastColon = head.IndexOf(':');
        }
        if (!TryHex(head[..lastColon], 2, 0xFF, out int bus)) { error = "the bus must be 1-2 hex digits"; return false; }
        if (!TryHex(head[(lastColon + 1)..], 2, 0x1F, out int device)) { error = "the device must be hex 00-1f"; return false; }
        if (!TryHex(functionText, 1, 7, out int function)) { error = "the function must be 0-7"; return false; }
        address = new PciAddress(domain, bus, device, function);
        error = null;
        return true;
    }

    private static bool TryHex(ReadOnlySpan<char> digits, int maxDigits, int max, out int value)
    {
        value = 0;
        if (digits.Length == 0 || digits.Length > maxDigits) return false;
        foreach (char c in digits)
            if (!char.IsAsciiHexDigit(c)) return false;
        value = int.Parse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        return value <= max;
    }

    /// <summary>The sysfs name, e.g. <c>0000:01:00.0</c>.</summary>
    public override string ToString()
        => string.Create(CultureInfo.InvariantCulture, $"{Domain:x4}:{Bus:x2}:{Device:x2}.{Function:x1}");
}
