using PolledNvme.Driver.Emulated;
using PolledNvme.Driver.Transport;
using PolledNvme.Driver.Vfio;

namespace PolledNvme.Driver;

/// <summary>Turns a controller address string into a transport.</summary>
internal static class TransportFactory
{
    /// <summary>Creates the transport for <paramref name="address"/>; says whether it is emulated.</summary>
    public static (INvmeTransport Transport, bool Emulated) Create(string address)
    {
        if (address.StartsWith("emu:", StringComparison.Ordinal) || address.StartsWith("mem:", StringComparison.Ordinal)
            || address.StartsWith("null:", StringComparison.Ordinal))
            return (EmulatedController.Create(EmulatedControllerOptions.Parse(address)).Transport, true);
        if (address.StartsWith(PciAddress.Scheme, StringComparison.Ordinal))
        {
            PciAddress pci;
            try
            {
                pci = PciAddress.Parse(address);
            }
            catch (FormatException e)
            {
                // A malformed address is a bad argument like any other malformed device string.
                throw new ArgumentException(e.Message, nameof(address), e);
            }
            return (VfioTransport.Open(pci, VfioHost.System), false);
        }
        throw new ArgumentException(
            $"Unknown controller address '{address}'. Expected emu:PATH[,options], mem:[options], null:[options] or pci:DDDD:BB:DD.F.", nameof(address));
    }
}
