using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Driver;

/// <summary>
/// The raw paths: the callback form of the raw I/O path (its result carries the status and DW0
/// instead of throwing), and the transfer limit of a raw admin command.
/// </summary>
public class RawSubmitTests
{
    [Test]
    public void Callback_form_reports_status_and_moves_data()
    {
        using var controller = NvmeController.Open("mem:lbads=512,size=1M");
        Namespace ns = controller.Namespaces[0];
        using var qp = controller.CreateIoQueuePair(4);
        using var data = controller.Memory.Allocate(512);
        data.Span.Fill(0x3C);
        qp.Wait(qp.WriteAsync(ns, 7, 1, data));
        data.Clear();

        var results = new List<IoResult>();
        var read = new SubmissionEntry { Opcode = (byte)NvmOpcode.Read, NamespaceId = ns.Id, Cdw10 = 7 };
        qp.SubmitRaw(read, data, 512, static (state, in result) => ((List<IoResult>)state!).Add(result), results);
        var bogus = new SubmissionEntry { Opcode = 0x7F, NamespaceId = ns.Id };
        qp.SubmitRaw(bogus, null, 0, static (state, in result) => ((List<IoResult>)state!).Add(result), results);
        qp.Drain();

        Assert.That(results, Has.Count.EqualTo(2));
        Assert.That(results[0].IsSuccess, Is.True);
        Assert.That(data.Span.ToArray(), Is.All.EqualTo((byte)0x3C), "PRPs built for the buffer");
        Assert.That(results[1].Status.TypeAndCode, Is.EqualTo(NvmeStatus.InvalidCommandOpcode.TypeAndCode));
        Assert.That(results[1].Opcode, Is.EqualTo(0x7F));
        Assert.That(qp.AvailableSlots, Is.EqualTo(qp.Depth), "both requests went back to the pool");
    }

    [Test]
    public void Raw_admin_commands_transfer_at_most_MaxAdminTransferBytes()
    {
        // MDTS 2 MiB here; the admin queue's PRP lists hold 64 KiB: the smaller one is the limit, and it is said.
        using var controller = NvmeController.Open("mem:lbads=512,size=1M,mdts=9");
        Assert.That(controller.MaxTransferBytes, Is.EqualTo(2 << 20));
        Assert.That(controller.MaxAdminTransferBytes, Is.EqualTo(64 * 1024));
        using var buffer = controller.Memory.Allocate(128 * 1024);
        // Get Log Page, SMART (02h): NUMDL counts dwords, 0's based.
        SubmissionEntry GetLog(int bytes) => new() { Opcode = (byte)AdminOpcode.GetLogPage, NamespaceId = 0xFFFFFFFF, Cdw10 = 0x02 | (uint)(bytes / 4 - 1) << 16 };
        Assert.That(new NvmeStatus(controller.ExecuteAdminRaw(GetLog(512), buffer, controller.MaxAdminTransferBytes).Status).IsSuccess, Is.True,
            "a buffer of MaxAdminTransferBytes is described");
        Assert.Throws<ArgumentOutOfRangeException>(() => controller.ExecuteAdminRaw(GetLog(512), buffer, controller.MaxAdminTransferBytes + 4096));
    }
}
