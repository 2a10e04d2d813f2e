using System.Globalization;
using PolledNvme.Driver.Spec;
using PolledNvme.Driver.Vfio;
using PolledNvme.Queues;

namespace PolledNvme.GuestTest;

/// <summary>Runs the checks against one controller and prints one line per check.</summary>
internal static class GuestRunner
{
    public static int Run(string[] args, TextWriter output)
    {
        if (args.Length < 2)
        {
            output.WriteLine("usage: pnvme-guest-test pci:<bdf> <configuration> [nvme-ns properties]");
            return 2;
        }
        var log = new GuestLog(output, args[1]);
        try
        {
            using (VfioTransport transport = VfioTransport.Open(args[0]))
            {
                log.Pass("vfio-open", $"{transport.Address} group {transport.IommuGroup} reset={transport.WasReset}");
                TransportChecks.Run(transport, log);
            }
            using var controller = PolledNvme.Driver.NvmeController.Open(args[0]);
            log.Pass("controller-open", $"{controller.Identify.ModelNumber} sn {controller.Identify.SerialNumber}, MDTS {controller.MaxTransferBytes} B, {controller.Memory.MemoryKind}");
            foreach (var ns in controller.Namespaces) log.Info(ns.ToString());
            foreach (var f in controller.Namespaces[0].LbaFormats) log.Info(f.ToString());
        }
        catch (Exception e)
        {
            log.Fail("unexpected", $"{e.GetType().Name}: {e.Message}");
        }
        return log.Finish();
    }
}
