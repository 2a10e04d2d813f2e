using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using PolledNvme.Driver.Transport;

namespace PolledNvme.Emulation;

/// <summary>
/// Registers the emulated controller's device-string schemes with
/// <see cref="TransportRegistry"/>: <c>emu:PATH[,...]</c> (file media), <c>mem:[...]</c> (RAM)
/// and <c>null:[...]</c> (no data kept). Runs as this assembly's module initializer, so an
/// application that references the emulation gets the schemes without a call; the registry
/// loads this type by name when it meets an unknown scheme before the assembly was used.
/// </summary>
public static class EmulatedTransports
{
    /// <summary>The schemes this package registers (without the colon).</summary>
    public static IReadOnlyList<string> Schemes { get; } = ["emu", "mem", "null"];

    [SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries",
        Justification = "Registering the package's schemes on load is the point: referencing the package is all an application does.")]
    [ModuleInitializer]
    internal static void RegisterOnLoad()
    {
        foreach (string scheme in Schemes)
            TransportRegistry.Register(scheme, Open);
    }

    /// <summary>Creates the emulated controller a device string describes and returns its transport (which owns it).</summary>
    /// <exception cref="ArgumentException">The string breaks a rule (the message names the key and the accepted values).</exception>
    /// <exception cref="IOException">A backing file cannot be opened or created.</exception>
    public static NvmeTransport Open(string address) => EmulatedController.Create(EmulatedControllerOptions.Parse(address)).Transport;
}
