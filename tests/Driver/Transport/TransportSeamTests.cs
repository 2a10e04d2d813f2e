using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Driver.Transport;

/// <summary>
/// The driver above the transport seam runs on property get/set and the queue-pair operations
/// alone: no register window, no rings, no PRPs (what an NVMe/TCP transport offers), against
/// <see cref="PropertyOnlyTransport"/>.
/// </summary>
public class TransportSeamTests
{
    [Test]
    public void TheControllerStateMachineRunsOnPropertiesOnly()
    {
        var transport = new PropertyOnlyTransport();
        using (NvmeController controller = NvmeController.Open(transport, ownsTransport: true))
        {
            Assert.That(transport.Violations, Is.Empty);
            List<string> calls = transport.Calls;
            int connect = calls.IndexOf("connect-admin");
            Assert.That(calls.IndexOf("create-admin"), Is.LessThan(connect), "the admin queue exists before it is connected");
            Assert.That(calls.FindIndex(c => c.StartsWith("get ", StringComparison.Ordinal)), Is.GreaterThan(connect), "Connect on the admin queue before any property read");
            int enable = calls.FindIndex(c => c.StartsWith("set CC", StringComparison.Ordinal) && c.EndsWith('1'));
            Assert.That(calls.IndexOf("before-enable"), Is.InRange(connect, enable), "the transport's enable hook runs just before CC.EN = 1");
            Assert.That(controller.Identify.ModelNumber, Is.EqualTo("property-only fake"));
            Assert.That(controller.Namespaces, Has.Count.EqualTo(1));
            Assert.That(controller.Namespaces[0].BlockSize, Is.EqualTo(PropertyOnlyTransport.BlockSize));
            Assert.That(controller.MaxIoQueuePairs, Is.EqualTo(4));

            using IoQueuePair qp = controller.CreateIoQueuePair(16);
            Assert.That(calls, Does.Contain("create-io 1").And.Contain("connect-io 1"));
            RoundTrip(controller, qp, seed: 1);

            controller.Reset();
            Assert.That(calls.Count(c => c == "connect-admin"), Is.EqualTo(2), "a reset reconnects the admin queue");
            Assert.That(calls.Count(c => c == "connect-io 1"), Is.EqualTo(2), "and the I/O queue pairs");
            RoundTrip(controller, qp, seed: 2);
        }
        Assert.That(transport.Calls, Does.Contain("disconnect-io 1"));
        Assert.That(transport.Calls.Any(c => c.StartsWith("set CC", StringComparison.Ordinal) && (Convert.ToUInt32(c[(c.LastIndexOf(' ') + 3)..], 16) >> ControllerConfiguration.ShnShift & 3) == 1),
            "Dispose shuts down normally through CC.SHN");
        Assert.That(transport.Calls[^1], Is.EqualTo("dispose"), "an owned transport goes last");
        Assert.That(transport.Violations, Is.Empty, "no PRP, no MPTR, no admin queue registers, no property before connect");
        Assert.That(transport.Commands.Where(c => c.Queue == 1).Select(c => (NvmOpcode)c.Command.Opcode), Does.Contain(NvmOpcode.Write).And.Contain(NvmOpcode.Read));
    }

    [Test]
    public void WhatTheTransportKnowsAboutAFailureIsInTheControllerException()
    {
        using var transport = new PropertyOnlyTransport();
        using NvmeController controller = NvmeController.Open(transport);
        using IoQueuePair qp = controller.CreateIoQueuePair(8);
        using DmaBuffer data = controller.Memory.Allocate(PropertyOnlyTransport.BlockSize);
        transport.Fail("the target sent a C2H termination request (fatal error)");
        int before = transport.Calls.Count;
        ValueTask read = qp.ReadAsync(controller.Namespaces[0], 0, 1, data);
        var e = Assert.Throws<NvmeControllerException>(() => qp.Wait(read, TimeSpan.FromSeconds(10)))!;
        Assert.That(e.IsFatal, Is.True);
        Assert.That(e.Message, Does.Contain("CSTS.CFS = 1").And.Contain("the target sent a C2H termination request"));
        string[] during = transport.Calls.Skip(before).ToArray();
        Assert.That(during, Does.Contain("poll-status"));
        Assert.That(during.Where(c => c.StartsWith("get ", StringComparison.Ordinal)), Is.Empty,
            "an I/O thread's health check asks the transport, not a Property Get through the admin queue");
        Assert.That(controller.IsOperational, Is.False);

        controller.Reset();
        Assert.That(controller.IsOperational, Is.True);
        qp.Wait(qp.ReadAsync(controller.Namespaces[0], 0, 1, data));
    }

    [Test]
    public void AFailedCommandCarriesWhatTheTransportSaysAboutIt()
    {
        using var transport = new PropertyOnlyTransport();
        using NvmeController controller = NvmeController.Open(transport);
        using IoQueuePair qp = controller.CreateIoQueuePair(8);
        var compare = new SubmissionEntry { Opcode = (byte)NvmOpcode.Compare, NamespaceId = 1 };
        var e = Assert.Throws<NvmeException>(() => qp.Wait(qp.SubmitRawAsync(compare)))!;
        Assert.That(e.Status, Is.EqualTo(NvmeStatus.InvalidField));
        Assert.That(e.Detail, Is.EqualTo($"fake detail for queue 1 command {qp.LastCommandId}"));
    }

    [Test]
    public void TheTransportsTransferLimitCapsMdts()
    {
        using var transport = new PropertyOnlyTransport { TransferLimit = 8192 };
        using NvmeController controller = NvmeController.Open(transport);
        Assert.That(controller.MaxTransferBytes, Is.EqualTo(8192), "MDTS 5 allows 128 KiB; the transport carries 8 KiB");
        using IoQueuePair qp = controller.CreateIoQueuePair(8);
        using DmaBuffer data = controller.Memory.Allocate(32 * PropertyOnlyTransport.BlockSize);
        var e = Assert.Throws<ArgumentException>(() => qp.WriteAsync(controller.Namespaces[0], 0, 32, data))!;
        Assert.That(e.Message, Does.Contain("8192 bytes (MDTS)"));
        Assert.That(qp.InFlight, Is.Zero);
    }

    private static void RoundTrip(NvmeController controller, IoQueuePair qp, int seed)
    {
        Namespace ns = controller.Namespaces[0];
        using DmaBuffer data = controller.Memory.Allocate(8 * ns.BlockSize);
        new Random(seed).NextBytes(data.Span);
        byte[] written = data.Span.ToArray();
        qp.Wait(qp.WriteAsync(ns, 16, 8, data));
        data.Span.Clear();
        qp.Wait(qp.ReadAsync(ns, 16, 8, data));
        qp.Wait(qp.FlushAsync(ns));
        Assert.That(data.Span.SequenceEqual(written), Is.True, "data moved through the descriptor, both ways");
    }
}
