using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Driver;

/// <summary>The callback form of the raw I/O path: its result carries the status (and DW0) instead of throwing.</summary>
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
}
