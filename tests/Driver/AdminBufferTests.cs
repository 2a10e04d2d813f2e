using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Emulated;
using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Driver;

/// <summary>
/// The admin paths take caller buffers under the same rules as I/O: alive, from this
/// controller's memory, leased until the controller is done with them — also when the caller
/// gave up waiting (timeout) and the completion arrives later or never.
/// </summary>
public class AdminBufferTests
{
    private const int LogBytes = 8192;   // a size class the driver's own allocations do not use, so pool counts are exact

    private static SubmissionEntry ErrorLog => AdminCommandBuilder.GetLogPage(LogPageId.ErrorInformation, LogBytes);

    [Test]
    public void ARawAdminCommandRefusesADisposedOrForeignBuffer()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M");
        using var other = EmulatedSetup.Open("mem:lbads=512,size=1M");
        DmaBuffer dead = setup.Controller.Memory.Allocate(LogBytes);
        dead.Dispose();
        using DmaBuffer foreign = other.Controller.Memory.Allocate(LogBytes);

        var disposed = Assert.Throws<ObjectDisposedException>(() => setup.Controller.ExecuteAdminRaw(ErrorLog, dead))!;
        Assert.That(disposed.ObjectName, Is.EqualTo("data"));
        var wrong = Assert.Throws<ArgumentException>(() => setup.Controller.ExecuteAdminRaw(ErrorLog, foreign))!;
        Assert.That(wrong.ParamName, Is.EqualTo("data"));
        Assert.That(wrong.Message, Does.Contain(other.Controller.Address));

        using DmaBuffer own = setup.Controller.Memory.Allocate(LogBytes);
        CompletionEntry cqe = setup.Controller.ExecuteAdminRaw(ErrorLog, own);
        Assert.That(new NvmeStatus(cqe.Status).IsSuccess, Is.True, "the admin queue is unharmed and works with its own memory");
        Assert.That(own.Leases, Is.Zero, "the lease ended with the completion");
        Assert.That(setup.Controller.GetErrorLog(2), Has.Length.EqualTo(2));
    }

    [Test]
    public void ABufferOfAnAbandonedAdminCommandStaysOutOfThePoolUntilTheResetFailsIt()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M", options: new NvmeControllerOptions { AllowNonHugepageMemory = true, AdminTimeout = TimeSpan.FromMilliseconds(200) });
        DmaAllocator memory = setup.Controller.Memory;
        DmaBuffer log = memory.Allocate(LogBytes);
        int pooled = memory.PooledSlots(LogBytes);
        setup.Device.Faults.DropNextCompletion(FaultQueue.Admin, (byte)AdminOpcode.GetLogPage);
        Assert.Throws<NvmeControllerException>(() => setup.Controller.ExecuteAdminRaw(ErrorLog, log), "the completion never comes: timeout");
        log.Dispose();
        Assert.That(log.Leases, Is.EqualTo(1), "the controller may still write the log page");
        Assert.That(memory.PooledSlots(LogBytes), Is.EqualTo(pooled));

        setup.Controller.Reset();   // disabled, then the abandoned command is failed
        Assert.That(log.Leases, Is.Zero);
        Assert.That(memory.PooledSlots(LogBytes), Is.EqualTo(pooled + 1));
        Assert.That(memory.StrayReturns, Is.Zero);
    }
}
