using System.Diagnostics;
using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Driver.Tcp;
using PolledNvme.Protection;
using PolledNvme.Queues;

namespace PolledNvme.GuestTest;

/// <summary>
/// The NVMe/TCP transport against Linux's own target (nvmet-tcp on null_blk), from inside the
/// guest over 127.0.0.1 (scripts/fabrics-test.sh sets the target up through configfs):
/// discovery, connect and Identify, I/O round trips of every size class (in-capsule, R2T, MDTS)
/// with digests off and on and SQ flow control on and off, several I/O queues on their own
/// threads, Keep Alive across an idle period and its expiry, the port removed mid-run and the
/// reconnect. Every wait is bounded: a hang is a FAIL line, not a stuck guest.
/// </summary>
internal static class FabricsChecks
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    /// <param name="device">tcp:127.0.0.1:4420/NQN (no keys).</param>
    /// <param name="portLink">The configfs link that puts the subsystem on the port (removed and re-made by the port check).</param>
    /// <param name="subsystemDir">The subsystem's configfs directory (the link's target).</param>
    public static int Run(string device, string portLink, string subsystemDir, TextWriter output)
    {
        var log = new GuestLog(output, "fabrics");
        string nqn = device[(device.IndexOf('/') + 1)..];
        Check(log, "tcp-discovery", () =>
        {
            string address = device[..device.IndexOf('/')];
            DiscoveryLog discovery = NvmeDiscovery.ReadLog(address);
            DiscoveryLogEntry entry = discovery.Entries.FirstOrDefault(e => e.SubsystemNqn == nqn)
                ?? throw new InvalidOperationException($"{nqn} is not in the discovery log ({string.Join(", ", discovery.Entries.Select(e => e.SubsystemNqn))})");
            Require(entry.TransportType == 3 && entry.TransportServiceId == "4420", $"entry: trtype {entry.TransportType}, trsvcid '{entry.TransportServiceId}'");
            return $"genctr {discovery.GenerationCounter}, {discovery.Entries.Count} records; {entry.DeviceString}";
        });
        Check(log, "tcp-connect-identify", () =>
        {
            using NvmeController c = NvmeController.Open(device);
            ref readonly IdentifyController id = ref c.Identify;
            Namespace ns = c.Namespaces[0];
            Require(id.ModelNumber == "Linux" && id.Cntrltype == 1, $"MN '{id.ModelNumber}', CNTRLTYPE {id.Cntrltype}");
            Require(id.Ioccsz * 16 - 64 == 16384, $"IOCCSZ {id.Ioccsz}: expected 16 KiB of in-capsule data");
            Require(c.Namespaces.Count == 1 && ns.PiType == PiType.None && ns.MetadataSize == 0, $"namespaces {c.Namespaces.Count}, {ns}");
            uint vs = c.Transport.GetProperty32(ControllerRegisters.Vs);
            return $"{id.ModelNumber} {id.FirmwareRevision}, cntlid {((NvmeTcpTransport)c.Transport).ControllerId}, VS {vs >> 16}.{(vs >> 8) & 0xFF}, "
                + $"MQES {c.Capabilities.Mqes + 1}, IOCCSZ {id.Ioccsz}, MAXH2CDATA {c.Transport.MaxTransferBytes}, MDTS {c.MaxTransferBytes} B, {ns}";
        });
        foreach (string keys in new[] { "", "hdgst=1,ddgst=1", "sqflow=0", "hdgst=1,ddgst=1,sqflow=0" })
            Check(log, $"tcp-io[{(keys.Length == 0 ? "defaults" : keys)}]", () => RoundTrips(device + (keys.Length == 0 ? "" : "," + keys)));
        Check(log, "tcp-queues", () => Queues(device + ",ddgst=1"));
        Check(log, "tcp-pi-refused", () =>
        {
            using NvmeController c = NvmeController.Open(device);
            using IoQueuePair qp = c.CreateIoQueuePair(8);
            using DmaBuffer data = c.Memory.Allocate(512);
            try
            {
                qp.Wait(qp.WriteAsync(c.Namespaces[0], 0, 1, data, null, IoProtectionOptions.ControllerInserts(PiChecks.Guard)));
            }
            catch (ArgumentException e) when (e.Message.Contains("RDMA ports only", StringComparison.Ordinal))
            {
                return e.Message;
            }
            throw new InvalidOperationException("a PI write on a namespace without metadata was not refused");
        });
        Check(log, "tcp-keepalive-idle", () => KeepAliveIdle(device + ",kato=2"));
        Check(log, "tcp-keepalive-expiry", () => KeepAliveExpiry(device + ",kato=2"));
        Check(log, "tcp-port-removed-reconnect", () => PortRemoved(device, portLink, subsystemDir));
        return log.Finish();
    }

    private static string RoundTrips(string device)
    {
        using NvmeController c = NvmeController.Open(device);
        Namespace ns = c.Namespaces[0];
        using IoQueuePair qp = c.CreateIoQueuePair(32);
        var sizes = new List<string>();
        // 1 and 8 blocks and 16 KiB go in-capsule (nvmet hangs a write of that size sent by R2T);
        // 16.5 KiB, 128 KiB and MDTS go by R2T, one H2CData per R2T (what nvmet needs with data digests).
        foreach (int blocks in new[] { 1, 8, 32, 33, 256, c.MaxTransferBytes / 512 })
        {
            using DmaBuffer data = c.Memory.Allocate(blocks * 512);
            Random.Shared.NextBytes(data.Span);
            byte[] expected = data.Span.ToArray();
            ulong lba = (ulong)(blocks * 7 % 4096) * 8;
            qp.Wait(qp.WriteAsync(ns, lba, blocks, data), Bound);
            data.Span.Clear();
            qp.Wait(qp.ReadAsync(ns, lba, blocks, data), Bound);
            Require(data.Span.SequenceEqual(expected), $"{blocks} blocks at LBA {lba} read back different data");
            sizes.Add($"{blocks * 512 / 1024.0:0.#}K");
        }
        using DmaBuffer check = c.Memory.Allocate(16 * 512);
        check.Span.Fill(0xA5);
        qp.Wait(qp.WriteAsync(ns, 100_000, 16, check), Bound);
        qp.Wait(qp.WriteZeroesAsync(ns, 100_002, 2), Bound);
        qp.Wait(qp.DeallocateAsync(ns, 100_008, 4), Bound);
        qp.Wait(qp.FlushAsync(ns), Bound);
        qp.Wait(qp.ReadAsync(ns, 100_000, 16, check), Bound);
        for (int block = 0; block < 16; block++)
        {
            bool zero = block is 2 or 3 or >= 8 and < 12;
            Require(check.Span.Slice(block * 512, 512).IndexOfAnyExcept(zero ? (byte)0 : (byte)0xA5) < 0,
                $"block {block} after write zeroes (2-3) and deallocate (8-11) is not {(zero ? "zero" : "A5h")}");
        }
        return $"write/read {string.Join(" ", sizes)} compared; flush, write zeroes, deallocate read back as zeros";
    }

    private static string Queues(string device)
    {
        using NvmeController c = NvmeController.Open(device);
        Namespace ns = c.Namespaces[0];
        string?[] errors = new string?[4];
        var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
        {
            try
            {
                using IoQueuePair qp = c.CreateIoQueuePair(17);
                var buffers = Enumerable.Range(0, 16).Select(_ => c.Memory.Allocate(4096)).ToArray();
                var tasks = new ValueTask[16];
                for (int round = 0; round < 8; round++)
                {
                    for (int i = 0; i < 16; i++)
                    {
                        buffers[i].Span.Fill((byte)(t * 16 + i + round));
                        tasks[i] = qp.WriteAsync(ns, (ulong)(200_000 + t * 1024 + i * 8), 8, buffers[i]);
                    }
                    foreach (ValueTask task in tasks) qp.Wait(task, Bound);
                    for (int i = 0; i < 16; i++)
                    {
                        buffers[i].Span.Clear();
                        tasks[i] = qp.ReadAsync(ns, (ulong)(200_000 + t * 1024 + i * 8), 8, buffers[i]);
                    }
                    foreach (ValueTask task in tasks) qp.Wait(task, Bound);
                    for (int i = 0; i < 16; i++)
                        if (buffers[i].Span.IndexOfAnyExcept((byte)(t * 16 + i + round)) >= 0)
                            throw new InvalidOperationException($"queue {qp.Id} slot {i} round {round} read back different data");
                }
                foreach (DmaBuffer b in buffers) b.Dispose();
            }
            catch (Exception e)
            {
                errors[t] = $"thread {t}: {e.GetType().Name}: {e.Message}";
            }
        })).ToArray();
        foreach (Thread th in threads) th.Start();
        foreach (Thread th in threads) th.Join();
        string? error = errors.FirstOrDefault(e => e is not null);
        Require(error is null, error ?? "");
        return $"4 I/O queues (4 connections) on 4 threads, QD16 each, 1024 I/Os compared, data digest on; {c.MaxIoQueuePairs} queues granted";
    }

    private static string KeepAliveIdle(string device)
    {
        using NvmeController c = NvmeController.Open(device);
        var tcp = (NvmeTcpTransport)c.Transport;
        using IoQueuePair qp = c.CreateIoQueuePair(8);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(7))   // 3.5 × KATO with no I/O: only Keep Alive keeps the association
        {
            qp.ProcessCompletions();
            Thread.Sleep(1);
        }
        Require(tcp.Failure is null, $"the association failed while idle: {tcp.Failure?.Message}");
        Require(tcp.KeepAlivesCompleted >= 4, $"{tcp.KeepAlivesCompleted} Keep Alives in 7 s (KATO 2 s: one per second expected)");
        using DmaBuffer data = c.Memory.Allocate(512);
        qp.Wait(qp.ReadAsync(c.Namespaces[0], 0, 1, data), Bound);
        return $"idle 7 s with KATO 2 s: {tcp.KeepAlivesCompleted} Keep Alives, association alive, I/O after it completes";
    }

    private static string KeepAliveExpiry(string device)
    {
        using NvmeController c = NvmeController.Open(device);
        using IoQueuePair qp = c.CreateIoQueuePair(8);
        using DmaBuffer data = c.Memory.Allocate(512);
        Thread.Sleep(TimeSpan.FromSeconds(6));   // no polling: nobody sends Keep Alive, the target's 2 s timer fires
        try
        {
            qp.Wait(qp.ReadAsync(c.Namespaces[0], 0, 1, data), Bound);
            throw new InvalidOperationException("a read after 6 s without Keep Alive (KATO 2 s) succeeded: the target did not end the association");
        }
        catch (NvmeException e) when (e.Status.TypeAndCode == NvmeStatus.HostPathingError.TypeAndCode)
        {
            Require(e.Message.Contains("keep-alive timer has probably expired", StringComparison.Ordinal), $"the error does not say why: {e.Message}");
            c.Reset();
            qp.Wait(qp.ReadAsync(c.Namespaces[0], 0, 1, data), Bound);
            return $"the target ended the idle association; the read failed with {e.Status} ({e.Detail}); Reset reconnected";
        }
    }

    private static string PortRemoved(string device, string portLink, string subsystemDir)
    {
        using NvmeController c = NvmeController.Open(device + ",kato=5");
        Namespace ns = c.Namespaces[0];
        using IoQueuePair qp = c.CreateIoQueuePair(17);
        var buffers = Enumerable.Range(0, 16).Select(_ => c.Memory.Allocate(4096)).ToArray();
        buffers[0].Span.Fill(0x77);
        qp.Wait(qp.WriteAsync(ns, 300_000, 8, buffers[0]), Bound);
        int completed = 0, failed = 0;
        IoCompletionCallback done = (state, in result) =>
        {
            if (result.IsSuccess) completed++;
            else if (result.Status.TypeAndCode == NvmeStatus.HostPathingError.TypeAndCode) failed++;
            else throw new InvalidOperationException($"unexpected status {result.Status}");
        };
        for (int i = 0; i < 16; i++)
            qp.Read(ns, (ulong)(i * 8), 8, buffers[i], null, default, done, null);
        File.Delete(portLink);   // nvmet deletes the port's controllers and stops listening
        var clock = Stopwatch.StartNew();
        int submitted = 16;
        while (clock.Elapsed < TimeSpan.FromSeconds(5) || qp.InFlight != 0)
        {
            if (clock.Elapsed > Bound)
                throw new TimeoutException($"{qp.InFlight} commands still outstanding {Bound.TotalSeconds} s after the port was removed");
            qp.ProcessCompletions();
            if (failed == 0 && qp.AvailableSlots > 0)
            {
                qp.Read(ns, (ulong)(submitted % 16 * 8), 8, buffers[submitted % 16], null, default, done, null);   // I/O keeps going while the port goes away
                submitted++;
            }
        }
        Require(failed > 0, $"no command failed after the port was removed ({completed} completed)");
        string refused;
        try
        {
            c.Reset();
            throw new InvalidOperationException("Reset reconnected while the port was removed");
        }
        catch (NvmeTcpException e) when (e.Error == NvmeTcpError.ConnectionRefused)
        {
            refused = e.Error.ToString();
        }
        File.CreateSymbolicLink(portLink, subsystemDir);
        c.Reset();
        buffers[0].Span.Clear();
        qp.Wait(qp.ReadAsync(ns, 300_000, 8, buffers[0]), Bound);
        Require(buffers[0].Span.IndexOfAnyExcept((byte)0x77) < 0, "the data written before the port went away reads back different");
        foreach (DmaBuffer b in buffers) b.Dispose();
        return $"port link removed with I/O running: {completed} completed, {failed} failed with HostPathingError, none hung; "
            + $"Reset while removed: {refused}; link restored, Reset reconnected (cntlid {((NvmeTcpTransport)c.Transport).ControllerId}), data intact";
    }

    private static void Check(GuestLog log, string name, Func<string> body)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            log.Pass(name, $"{body()} ({clock.Elapsed.TotalSeconds:0.0} s)");
        }
        catch (Exception e)
        {
            log.Fail(name, $"{e.GetType().Name}: {e.Message}");
        }
    }

    private static void Require(bool condition, string what)
    {
        if (!condition)
            throw new InvalidOperationException(what);
    }
}
