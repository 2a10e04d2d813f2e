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
            using VfioTransport transport = VfioTransport.Open(args[0]);
            log.Pass("vfio-open", $"{transport.Address} group {transport.IommuGroup} reset={transport.WasReset}");
            TransportChecks.Run(transport, log);
        }
        catch (Exception e)
        {
            log.Fail("unexpected", $"{e.GetType().Name}: {e.Message}");
        }
        return log.Finish();
    }
}
