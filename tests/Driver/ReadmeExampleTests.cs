using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Protection;

namespace PolledNvme.Tests.Driver;

/// <summary>The library example of the README, kept compiling and true.</summary>
public class ReadmeExampleTests
{
    [Test]
    public void ReadmeLibraryExampleRoundTrips()
    {
        using var controller = NvmeController.Open("mem:lbads=4096,ms=8,pi=1,size=64M");
        Namespace ns = controller.Namespaces[0];
        using var qp = controller.CreateIoQueuePair(entries: 64);
        using var buffer = controller.Memory.Allocate(8 * ns.BlockSize);
        var pi = new IoProtectionOptions { Pract = true, Checks = PiChecks.Guard | PiChecks.ReferenceTag };
        new Random(7).NextBytes(buffer.Span);
        byte[] written = buffer.Span.ToArray();
        qp.Wait(qp.WriteAsync(ns, slba: 0, blocks: 8, buffer, null, pi));
        buffer.Span.Clear();
        qp.Wait(qp.ReadAsync(ns, slba: 0, blocks: 8, buffer, null, pi));
        Assert.That(buffer.Span.ToArray(), Is.EqualTo(written));
    }
}
