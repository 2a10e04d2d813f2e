using PolledNvme.Driver;
using PolledNvme.Emulation;

namespace PolledNvme.Tests.Driver;

/// <summary>An emulated controller opened through the public driver API, with access to its fault injector.</summary>
internal sealed class EmulatedSetup : IDisposable
{
    public EmulatedController Device { get; }
    public NvmeController Controller { get; }
    public Namespace Ns => Controller.Namespaces[0];

    private EmulatedSetup(EmulatedController device, NvmeController controller)
    {
        Device = device;
        Controller = controller;
    }

    /// <summary>Opens <paramref name="address"/> (e.g. <c>mem:lbads=4096,ms=8,pi=1</c>); <paramref name="configure"/> may change controller options.</summary>
    public static EmulatedSetup Open(string address, Action<EmulatedControllerOptions>? configure = null, NvmeControllerOptions? options = null)
    {
        EmulatedControllerOptions o = EmulatedControllerOptions.Parse(address);
        configure?.Invoke(o);
        EmulatedController device = EmulatedController.Create(o);
        try
        {
            return new EmulatedSetup(device, NvmeController.Open(device.Transport, options ?? new NvmeControllerOptions { AllowNonHugepageMemory = true }, ownsTransport: true));
        }
        catch
        {
            device.Dispose();
            throw;
        }
    }

    public void Dispose() => Controller.Dispose();
}
