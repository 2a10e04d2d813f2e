using System.Diagnostics;
using PolledNvme.Conformance;
using PolledNvme.Driver;
using PolledNvme.Driver.Vfio;
using PolledNvme.Protection;

namespace PolledNvme.GuestTest;

/// <summary>
/// Runs in the guest: the VFIO transport checks, then the shared controller expectations
/// through the real driver, for the namespace format QEMU was started with and then for every
/// format of the same guard that Format NVM can switch to.
/// </summary>
internal static class GuestRunner
{
    public static int Run(string[] args, TextWriter output)
    {
        // On the host, scripts/qemu-test.sh asks the same binary which boots to make and how.
        if (args.Length == 1 && args[0] == "--boots")
        {
            foreach (ConformanceBoot boot in ConformanceBoot.QemuBoots)
                output.WriteLine($"{boot.Name} {boot.Namespace.QemuProperties} {boot.QemuControllerProperties}");
            return 0;
        }
        // scripts/fabrics-test.sh: the NVMe/TCP checks against Linux nvmet, and our side of the benchmark.
        if (args.Length == 4 && args[0] == "--fabrics")
            return FabricsChecks.Run(args[1], args[2], args[3], output);
        if ((args.Length == 5 && args[0] is "--fabrics-bench" or "--bench")
            || (args.Length is 6 or 7 && args[0] == "--bench" && args[5] is "batch=0" or "batch=1" && (args.Length == 6 || args[6] is "poll=spin" or "poll=adaptive" or "poll=interrupt")))
            return FabricsBench.Run(args[1], int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture),
                int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture), int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture), output,
                batchDoorbells: args.Length == 5 || args[5] == "batch=1",
                poll: args.Length == 7 ? Enum.Parse<PollMode>(args[6]["poll=".Length..], ignoreCase: true) : PollMode.Spin);
        // After /init handed the controller back to nvme: opening it must fail with the clear message.
        if (args.Length == 2 && args[0] == "--expect-unbound")
        {
            var unbound = new GuestLog(output, "after-reset");
            try
            {
                using VfioTransport transport = VfioTransport.Open(args[1]);
                unbound.Fail("vfio-open-unbound-refused", $"{args[1]} opened although it is bound to nvme");
            }
            catch (VfioException e) when (e.Message.Contains("not vfio-pci", StringComparison.Ordinal) && e.Message.Contains("setup-hugepages.sh", StringComparison.Ordinal))
            {
                unbound.Pass("vfio-open-unbound-refused", e.Message);
            }
            catch (Exception e)
            {
                unbound.Fail("vfio-open-unbound-refused", $"{e.GetType().Name}: {e.Message}");
            }
            return unbound.Finish();
        }
        if (args.Length < 2)
        {
            output.WriteLine("usage: pnvme-guest-test pci:<bdf> <boot name, e.g. bs512-ms8-sep-pi1-pil0-pif0>");
            output.WriteLine("       pnvme-guest-test --boots    (the QEMU boots: name, nvme-ns and nvme properties)");
            output.WriteLine("       pnvme-guest-test --fabrics tcp:127.0.0.1:4420/NQN PORT_LINK SUBSYSTEM_DIR   (NVMe/TCP checks against nvmet)");
            output.WriteLine("       pnvme-guest-test --fabrics-bench tcp:127.0.0.1:4420/NQN[,keys] QD SECONDS CPU   (4 KiB randread)");
            output.WriteLine("       pnvme-guest-test --bench pci:<bdf>[,dbbuf=0|1] QD SECONDS CPU [batch=0|1]   (4 KiB randread through VFIO; CPU -1: no pinning; batch=0: a doorbell per command)");
            output.WriteLine("       pnvme-guest-test --bench pci:<bdf>[,dbbuf=0|1] QD SECONDS CPU batch=0|1 poll=spin|adaptive|interrupt   (the same; the queue pair sleeps on its MSI-X interrupt)");
            return 2;
        }
        var log = new GuestLog(output, args[1]);
        try
        {
            ConformanceFormat initial = ConformanceBoot.Parse(args[1]).Namespace;
            using (VfioTransport transport = VfioTransport.Open(args[0]))
            {
                log.Pass("vfio-open", $"{transport.Address} group {transport.IommuGroup} reset={transport.WasReset}");
                TransportChecks.Run(transport, log);
            }
            long start = Stopwatch.GetTimestamp();
            using NvmeController controller = NvmeController.Open(args[0]);
            log.Pass("controller-open", $"{controller.Identify.ModelNumber} sn {controller.Identify.SerialNumber}, MDTS {controller.MaxTransferBytes} B, {controller.Memory.MemoryKind}, shadow doorbells {(controller.ShadowDoorbellsEnabled ? "on" : "off")}, {controller.Namespaces[0]}");
            SecondOpenRefused(args[0], log);
            ConformanceRunner.RunController(controller, ControllerKind.Qemu, log);
            ConformanceRunner.RunFormat(controller, initial, ControllerKind.Qemu, log, formatFirst: false);
            int formats = 1, notOffered = 0;
            if (initial.Type != PiType.None)
            {
                foreach (ConformanceFormat format in ConformanceFormat.PiMatrix(initial.Guard))
                {
                    if (format == initial) continue;
                    // QEMU 7.2 sets the ELBAF guard format (pif) only on the LBA format the namespace
                    // was started with; 64b-guard formats of other sizes need their own boot.
                    if (!Offered(controller.Namespaces[0], format))
                    {
                        notOffered++;
                        continue;
                    }
                    ConformanceRunner.RunFormat(controller, format, ControllerKind.Qemu, log, formatFirst: true);
                    formats++;
                }
            }
            ResetKeepsShadowDoorbells(controller, log);
            InterruptChecks.Run(controller, (controller.Transport as VfioTransport)?.InterruptVectors ?? 0, log);
            log.Info($"{formats} namespace formats in {Stopwatch.GetElapsedTime(start).TotalSeconds:0.0} s"
                + (notOffered == 0 ? "" : $"; {notOffered} formats of the matrix not offered by this namespace (covered by another boot)"));
        }
        catch (Exception e)
        {
            log.Fail("unexpected", $"{e.GetType().Name}: {e.Message}");
        }
        return log.Finish();
    }

    /// <summary>
    /// A controller reset clears QEMU's Doorbell Buffer Config: the driver sends it again, and an
    /// I/O queue pair created before the reset (re-created on the controller by Reset) still completes
    /// commands through its shadow doorbells, 64 of them so the rings wrap.
    /// </summary>
    private static void ResetKeepsShadowDoorbells(NvmeController controller, GuestLog log)
    {
        bool before = controller.ShadowDoorbellsEnabled;
        using IoQueuePair qp = controller.CreateIoQueuePair(16);
        qp.Wait(qp.FlushAsync(controller.Namespaces[0]));
        controller.Reset();
        if (controller.ShadowDoorbellsEnabled != before)
        {
            log.Fail("reset-shadow-doorbells", $"shadow doorbells {(before ? "on" : "off")} before the reset, {(controller.ShadowDoorbellsEnabled ? "on" : "off")} after");
            return;
        }
        for (int i = 0; i < 64; i++)
            qp.Wait(qp.FlushAsync(controller.Namespaces[0]));
        log.Pass("reset-shadow-doorbells", $"shadow doorbells {(before ? "on" : "off")} after a reset; 64 flushes through a re-created queue pair, {qp.MmioDoorbellWrites} MMIO doorbell writes in all");
    }

    /// <summary>While the driver holds the device, a second open must fail with a message that says why.</summary>
    private static void SecondOpenRefused(string address, GuestLog log)
    {
        try
        {
            using VfioTransport second = VfioTransport.Open(address);
            log.Fail("vfio-second-open-refused", $"{address} opened twice");
        }
        catch (VfioException e) when (e.Errno == 16 /* EBUSY */ && e.Message.Contains("already open", StringComparison.Ordinal))
        {
            log.Pass("vfio-second-open-refused", e.Message);
        }
        catch (Exception e)
        {
            log.Fail("vfio-second-open-refused", $"{e.GetType().Name}: {e.Message}");
        }
    }

    private static bool Offered(Namespace ns, ConformanceFormat format)
    {
        foreach (NamespaceLbaFormat f in ns.LbaFormats)
            if (f.BlockSize == format.BlockSize && f.MetadataSize == format.MetadataSize && f.GuardFormat == format.Guard)
                return true;
        return false;
    }
}
