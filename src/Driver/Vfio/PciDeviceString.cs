namespace PolledNvme.Driver.Vfio;

/// <summary>
/// A <c>pci:</c> device string: <c>pci:DDDD:BB:DD.F[,key=value...]</c>. Keys: <c>dbbuf</c> (0 = never
/// send Doorbell Buffer Config, 1 = send it when the controller offers it, the default; overrides
/// <see cref="NvmeControllerOptions.ShadowDoorbells"/>).
/// </summary>
public sealed record PciDeviceString(PciAddress Address, bool? ShadowDoorbells)
{
    private const string AcceptedKeys = "dbbuf";

    /// <summary>Parses <paramref name="text"/>.</summary>
    /// <exception cref="ArgumentException">Not a PCI address, or an unknown key or bad value; the message names it and what is accepted.</exception>
    public static PciDeviceString Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] parts = text.Split(',');
        PciAddress address;
        try
        {
            address = PciAddress.Parse(parts[0]);
        }
        catch (FormatException e)
        {
            throw new ArgumentException(e.Message, nameof(text), e);
        }
        bool? shadowDoorbells = null;
        foreach (string part in parts.AsSpan(1))
        {
            int equals = part.IndexOf('=');
            string key = equals < 0 ? part : part[..equals];
            string value = equals < 0 ? "" : part[(equals + 1)..];
            switch (key)
            {
                case "dbbuf":
                    shadowDoorbells = value switch
                    {
                        "0" => false,
                        "1" => true,
                        _ => throw new ArgumentException($"'{text}': dbbuf: '{value}' is not valid; accepted: 0 (plain MMIO doorbells) or 1 (shadow doorbells when the controller offers them).", nameof(text)),
                    };
                    break;
                default:
                    throw new ArgumentException($"'{text}': unknown key '{key}'; accepted keys after the PCI address: {AcceptedKeys}.", nameof(text));
            }
        }
        return new PciDeviceString(address, shadowDoorbells);
    }
}
