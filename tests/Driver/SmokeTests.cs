using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Driver;

public class SmokeTests
{
    [TestCase("mem:lbads=4096,size=16M")]
    [TestCase("mem:lbads=512,ms=8,pi=1,size=16M")]
    public void WriteThenReadBack(string address)
    {
        using var setup = EmulatedSetup.Open(address);
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(32);
        var pi = IoProtectionOptions.ControllerInserts();
        using DmaBuffer w = setup.Controller.Memory.Allocate((int)ns.DataBytes(8, pi.Pract));
        using DmaBuffer r = setup.Controller.Memory.Allocate(w.Length);
        new Random(1).NextBytes(w.Span);
        qp.Wait(qp.WriteAsync(ns, 16, 8, w, null, pi));
        qp.Wait(qp.ReadAsync(ns, 16, 8, r, null, pi));
        Assert.That(r.Span.SequenceEqual(w.Span));
    }
}
