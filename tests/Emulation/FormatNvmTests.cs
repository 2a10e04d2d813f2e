using System.Runtime.InteropServices;
using NUnit.Framework;
using PolledNvme.Driver.Spec;
using PolledNvme.Emulation;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Emulation;

/// <summary>Format NVM (NVM CS 1.0 §4.2.1): switching formats, validation, data loss.</summary>
public class FormatNvmTests
{
    private static SubmissionEntry Format(int index, bool mset = false, int pi = 0, bool pil = false, int ses = 0, uint nsid = 1)
    {
        var c = TestHost.Command((byte)AdminOpcode.FormatNvm, nsid);
        c.Cdw10 = CommandFields.FormatNvmCdw10(index, mset, pi, pil, ses);
        return c;
    }

    private static IdentifyNamespace IdentifyNamespace(TestHost host, uint nsid = 1)
        => MemoryMarshal.Read<IdentifyNamespace>(host.Identify((byte)IdentifyCns.Namespace, nsid).Page.Span);

    [Test]
    public void FormatSwitchesTheLbaFormatAndErasesTheData()
    {
        using var host = TestHost.Create(ns => ns.CapacityBytes = 1 << 20);
        var q = host.Start();
        var data = host.Alloc(4096);
        IoCommandTests.Pattern(data.Span, 1);
        TestHost.Expect(host.Execute(q, TestHost.Rw(NvmOpcode.Write, 0, 8, data.Iova)), NvmeStatus.Success, "write");

        TestHost.Expect(host.Admin(Format(5, mset: true, pi: 1)), NvmeStatus.Success, "format to 4096+8, PI type 1, extended");
        var id = IdentifyNamespace(host);
        Assert.Multiple(() =>
        {
            Assert.That(id.FormatIndex, Is.EqualTo(5));
            Assert.That(id.GetLbaFormat(5).BlockSize, Is.EqualTo(4096));
            Assert.That(id.GetLbaFormat(5).MetadataSize, Is.EqualTo(8));
            Assert.That(id.ExtendedMetadata, Is.True);
            Assert.That(id.PiType, Is.EqualTo(1));
            Assert.That(id.Nsze, Is.EqualTo(256ul));
        });
        var sink = host.Alloc(4104);
        sink.Span.Fill(0xCC);
        TestHost.Expect(host.Execute(q, TestHost.Rw(NvmOpcode.Read, 0, 1, sink.Iova, sink.Iova + 4096)), NvmeStatus.Success, "read");
        Assert.That(sink.Span[..4096].IndexOfAnyExcept((byte)0), Is.EqualTo(-1), "data gone");
        Assert.That(sink.Span.Slice(4096, 8).IndexOfAnyExcept((byte)0xFF), Is.EqualTo(-1), "deallocated PI");
    }

    [Test]
    public void FormatRejectsWhatTheNamespaceCannotDo()
    {
        using var host = TestHost.Create();
        host.Enable();
        Assert.Multiple(() =>
        {
            Assert.That(host.Admin(Format(12)).Status, Is.EqualTo(NvmeStatus.InvalidFormat.Value), "index past NLBAF");
            Assert.That(host.Admin(Format(16)).Status, Is.EqualTo(NvmeStatus.InvalidFormat.Value), "index 16 through LBAFU");
            Assert.That(host.Admin(Format(4, pi: 1)).Status, Is.EqualTo(NvmeStatus.InvalidFormat.Value), "PI without metadata");
            Assert.That(host.Admin(Format(1, pi: 5)).Status, Is.EqualTo(NvmeStatus.InvalidField.Value), "PI type 5");
            Assert.That(host.Admin(Format(1, ses: 2)).Status, Is.EqualTo(NvmeStatus.InvalidField.Value), "cryptographic erase");
            Assert.That(host.Admin(Format(1, nsid: 2)).Status, Is.EqualTo(NvmeStatus.InvalidNamespaceOrFormat.Value), "no namespace 2");
            Assert.That(host.Admin(Format(10, pi: 1)).Status, Is.EqualTo(NvmeStatus.InvalidNamespaceOrFormat.Value), "64b guard needs LBAFEE");
        });
        Assert.That(IdentifyNamespace(host).FormatIndex, Is.EqualTo(0), "unchanged");
        host.EnableExtendedFormats();
        TestHost.Expect(host.Admin(Format(10, pi: 1)), NvmeStatus.Success, "64b guard with LBAFEE");
        var nvm = MemoryMarshal.Read<NvmIdentifyNamespace>(host.Identify((byte)IdentifyCns.CommandSetNamespace, 1).Page.Span);
        Assert.That(nvm.GetExtendedLbaFormat(IdentifyNamespace(host).FormatIndex).ProtectionFormat, Is.EqualTo(2));
    }

    [Test]
    public void FormatAllNamespacesWithTheBroadcastNsid()
    {
        var options = new EmulatedControllerOptions
        {
            Mode = EmulatedControllerMode.Inline,
            Namespaces = [new() { BlockSize = 512, CapacityBytes = 1 << 20 }, new() { BlockSize = 4096, MetadataSize = 8, CapacityBytes = 1 << 20 }],
        };
        using var host = new TestHost(options);
        host.Enable();
        TestHost.Expect(host.Admin(Format(3, pi: 2, nsid: 0xFFFF_FFFF)), NvmeStatus.Success, "format all");
        Assert.That(IdentifyNamespace(host, 1).FormatIndex, Is.EqualTo(3));
        Assert.That(IdentifyNamespace(host, 2).FormatIndex, Is.EqualTo(3));
        Assert.That(IdentifyNamespace(host, 2).PiType, Is.EqualTo(2));
    }
}
