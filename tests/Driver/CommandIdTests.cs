using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Emulation;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Driver;

/// <summary>
/// Command identifiers come back from the submission that used them (there is no public
/// "last command id", which names whichever command went last once callbacks or awaits mix).
/// </summary>
public class CommandIdTests
{
    [Test]
    public void Raw_submissions_return_the_identifier_that_Abort_needs()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M", o => o.Mode = EmulatedControllerMode.Inline);
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer data = setup.Controller.Memory.Allocate(2 * ns.BlockSize);
        var read = new SubmissionEntry { Opcode = (byte)NvmOpcode.Read, NamespaceId = ns.Id, Cdw10 = 3 };

        // Both wait in the SQ (the inline controller has not run): abort the first, by its own identifier.
        var results = new List<(int Lba, ushort Status)>();
        IoCompletionCallback record = static (state, in result) => ((List<(int, ushort)>)state!).Add(((int)result.StartLba, result.Status.TypeAndCode));
        ushort firstId = qp.SubmitRaw(read with { Cdw10 = 3 }, data.Slice(0, ns.BlockSize), ns.BlockSize, record, results);
        ushort secondId = qp.SubmitRaw(read with { Cdw10 = 4 }, data.Slice(ns.BlockSize, ns.BlockSize), ns.BlockSize, record, results);
        Assert.That(secondId, Is.Not.EqualTo(firstId), "two outstanding commands, two identifiers");

        Assert.That(setup.Controller.Abort(qp.Id, firstId), Is.True);
        qp.Drain();
        Assert.That(results, Is.EquivalentTo(new[] { (3, NvmeStatus.AbortedByRequest.TypeAndCode), (4, NvmeStatus.Success.TypeAndCode) }),
            "the command with that identifier was aborted, the other one ran");
    }
}
