using System.Runtime.InteropServices;
using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Emulation;

/// <summary>What the emulated controller reports beyond the fields the driver needs: what nvme-cli's id-ctrl/id-ns show of a real one.</summary>
public class IdentifyPagesTests
{
    [Test]
    public void Identify_controller_has_a_power_state_and_the_capacity()
    {
        using var controller = NvmeController.Open("mem:size=4M");
        IdentifyController id = controller.Identify;
        Assert.Multiple(() =>
        {
            Assert.That(id.Npss, Is.Zero, "one power state");
            PowerStateDescriptor ps0 = id.GetPowerState(0);
            Assert.That(ps0.Mp, Is.EqualTo(2500), "25.00 W in 0.01 W units");
            Assert.That(ps0.Flags & PowerStateDescriptor.FlagNonOperational, Is.Zero, "operational");
            Assert.That(id.Tnvmcap, Is.EqualTo((UInt128)(4 << 20)), "all media belongs to the namespace");
            Assert.That(id.Unvmcap, Is.EqualTo(UInt128.Zero));
            Assert.That(id.SerialNumberField, Is.EqualTo("PNVMEEMU0001".PadRight(20)), "space padded, as the spec says");
            Assert.That(id.FirmwareRevisionField, Is.EqualTo("1.0".PadRight(8)));
            Assert.That(id.SubsystemNqnField, Does.StartWith("nqn."));
        });
    }

    [Test]
    public void Identify_namespace_has_the_nvm_capacity_and_an_nguid()
    {
        using var controller = NvmeController.Open("mem:size=4M");
        using var page = controller.Memory.Allocate(IdentifyNamespace.Size);
        var identify = new SubmissionEntry { Opcode = (byte)AdminOpcode.Identify, NamespaceId = 1, Cdw10 = (byte)IdentifyCns.Namespace };
        Assert.That(controller.ExecuteAdminRaw(identify, page, IdentifyNamespace.Size).Status, Is.Zero);
        IdentifyNamespace ns = MemoryMarshal.Read<IdentifyNamespace>(page.Span);
        Assert.That(ns.Nvmcap, Is.EqualTo((UInt128)(4 << 20)));
        Assert.That(ns.NguidBytes, Is.Not.All.Zero);
        Assert.That(ns.Eui64Bytes, Is.All.Zero, "the NGUID is the namespace's identifier; no EUI-64");
    }
}
