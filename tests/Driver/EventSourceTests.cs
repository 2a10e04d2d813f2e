using System.Diagnostics.Tracing;
using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Emulation;
using PolledNvme.Queues;
using PolledNvme.Tests.Support;
using static PolledNvme.Tests.Support.PolledNvmeEventListener;

namespace PolledNvme.Tests.Driver;

/// <summary>
/// The "PolledNvme" event source, read by an in-process EventListener, traces a controller's
/// lifecycle: initialization (start/stop with duration), queue pairs created and deleted,
/// command timeouts naming queue, command id and opcode, Abort, fatal status with its source and
/// reason, and reset with the commands it failed.
/// </summary>
public class EventSourceTests
{
    [Test]
    public void InitializationQueuePairsTimeoutAbortFatalAndResetAreTraced()
    {
        string address = $"mem:events-{Guid.NewGuid():N}";
        using var events = new PolledNvmeEventListener(address);
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M", o => o.Address = address);

        EventWrittenEventArgs start = events.Named("InitializeStart").Single();
        EventWrittenEventArgs stop = events.Named("InitializeStop").Single();
        Assert.That(Field(start, "Transport"), Is.EqualTo(setup.Controller.Transport.GetType().Name));
        Assert.That((double)Field(stop, "DurationMs")!, Is.GreaterThan(0));
        Assert.That(Field(stop, "Namespaces"), Is.EqualTo(1));
        Assert.That(stop.Opcode, Is.EqualTo(EventOpcode.Stop));

        IoQueuePair qp = setup.Controller.CreateIoQueuePair(16);
        EventWrittenEventArgs created = events.Named("QueuePairCreated").Single();
        Assert.That(Field(created, "QueueId"), Is.EqualTo((int)qp.Id));
        Assert.That(Field(created, "Entries"), Is.EqualTo(16));

        // A dropped completion: the Wait times out and names the outstanding command.
        Namespace ns = setup.Ns;
        using DmaBuffer data = setup.Controller.Memory.Allocate(512);
        setup.Device.Faults.DropNextCompletion(FaultQueue.Io, (byte)NvmOpcode.Read);
        ValueTask lost = qp.ReadAsync(ns, 0, 1, data);
        ushort cid = qp.LastCommandId;
        Assert.Throws<TimeoutException>(() => qp.Wait(lost, TimeSpan.FromMilliseconds(50)));
        EventWrittenEventArgs timeout = events.Named("CommandTimeout").Single();
        Assert.That(Field(timeout, "QueueId"), Is.EqualTo((int)qp.Id));
        Assert.That(Field(timeout, "CommandId"), Is.EqualTo((int)cid));
        Assert.That(Field(timeout, "Opcode"), Is.EqualTo((int)NvmOpcode.Read));
        Assert.That(Field(timeout, "Command"), Is.EqualTo("Read (02h)"));
        Assert.That(Field(timeout, "TimeoutMs"), Is.EqualTo(50.0));
        Assert.That(timeout.Level, Is.EqualTo(EventLevel.Warning));

        // Abort of the lost command (the emulated controller answers; what it answered is traced).
        bool aborted = setup.Controller.Abort(qp.Id, cid);
        EventWrittenEventArgs abort = events.Named("AbortSent").Single();
        Assert.That(Field(abort, "QueueId"), Is.EqualTo((int)qp.Id));
        Assert.That(Field(abort, "CommandId"), Is.EqualTo((int)cid));
        Assert.That(Field(abort, "Aborted"), Is.EqualTo(aborted));

        // Fatal status: traced once, however many waits see it.
        setup.Device.Faults.SetFatalStatus();
        Assert.Throws<NvmeControllerException>(() => qp.Wait(lost, TimeSpan.FromSeconds(10)));
        Assert.Throws<NvmeControllerException>(() => setup.Controller.GetSmartLog());
        EventWrittenEventArgs fatal = events.Named("ControllerFatal").Single();
        Assert.That(Field(fatal, "Source"), Is.EqualTo("CSTS.CFS"));
        Assert.That((int)Field(fatal, "Csts")! & ControllerStatus.Fatal, Is.Not.Zero);
        Assert.That(Field(fatal, "Reason"), Does.Contain("injected"));
        Assert.That(fatal.Level, Is.EqualTo(EventLevel.Critical));

        // Reset: start, stop with its duration; a later fatal state would be traced again.
        setup.Controller.Reset();
        Assert.That(events.Named("ResetStart"), Has.Count.EqualTo(1));
        EventWrittenEventArgs resetStop = events.Named("ResetStop").Single();
        Assert.That((double)Field(resetStop, "DurationMs")!, Is.GreaterThan(0));
        Assert.That(Field(resetStop, "FailedCommands"), Is.Zero, "the fatal wait already failed the outstanding read");
        setup.Device.Faults.SetFatalStatus();
        Assert.Throws<NvmeControllerException>(() => setup.Controller.GetSmartLog());
        Assert.That(events.Named("ControllerFatal"), Has.Count.EqualTo(2));
        setup.Controller.Reset();

        qp.Dispose();
        EventWrittenEventArgs deleted = events.Named("QueuePairDeleted").Single();
        Assert.That(Field(deleted, "QueueId"), Is.EqualTo((int)qp.Id));
    }

    [Test]
    public void AResetWithCommandsOutstandingCountsWhatItFailed()
    {
        string address = $"mem:events-{Guid.NewGuid():N}";
        using var events = new PolledNvmeEventListener(address);
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M", o => o.Address = address);
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(16);
        using DmaBuffer data = setup.Controller.Memory.Allocate(512);
        setup.Device.Faults.DropNextCompletion(FaultQueue.Io, (byte)NvmOpcode.Read);
        ValueTask lost = qp.ReadAsync(setup.Ns, 0, 1, data);
        Assert.Throws<TimeoutException>(() => qp.Wait(lost, TimeSpan.FromMilliseconds(50)));
        setup.Controller.Reset();
        Assert.That(Field(events.Named("ResetStop").Single(), "FailedCommands"), Is.EqualTo(1));
        Assert.Throws<NvmeException>(() => lost.GetAwaiter().GetResult());
    }
}
