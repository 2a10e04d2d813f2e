using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Emulation;

/// <summary>The mandatory dword features a real controller has besides the ones the driver uses: Temperature Threshold, Error Recovery, Write Atomicity Normal.</summary>
public class FeatureSettingsTests
{
    private static NvmeStatus Set(NvmeController c, FeatureId fid, uint cdw11)
        => new(c.ExecuteAdminRaw(new SubmissionEntry { Opcode = (byte)AdminOpcode.SetFeatures, Cdw10 = (byte)fid, Cdw11 = cdw11 }).Status);

    private static (NvmeStatus Status, uint Value) Get(NvmeController c, FeatureId fid, uint cdw11 = 0, int select = 0)
    {
        CompletionEntry cqe = c.ExecuteAdminRaw(new SubmissionEntry { Opcode = (byte)AdminOpcode.GetFeatures, Cdw10 = (byte)fid | ((uint)select << 8), Cdw11 = cdw11 });
        return (new NvmeStatus(cqe.Status), cqe.Result);
    }

    [Test]
    public void Temperature_threshold_starts_at_wctemp_and_keeps_over_and_under_apart()
    {
        using var c = NvmeController.Open("mem:size=1M");
        Assert.That(Get(c, FeatureId.TemperatureThreshold).Value, Is.EqualTo((uint)c.Identify.Wctemp));
        Assert.That(Set(c, FeatureId.TemperatureThreshold, 350).IsSuccess, Is.True);
        Assert.That(Set(c, FeatureId.TemperatureThreshold, 1u << 20 | 260).IsSuccess, Is.True);   // THSEL 1: under
        Assert.That(Get(c, FeatureId.TemperatureThreshold).Value, Is.EqualTo(350u));
        Assert.That(Get(c, FeatureId.TemperatureThreshold, 1u << 20).Value, Is.EqualTo(1u << 20 | 260));
        Assert.That(Get(c, FeatureId.TemperatureThreshold, 0, select: 1).Value, Is.EqualTo((uint)c.Identify.Wctemp), "default");
        Assert.That(Set(c, FeatureId.TemperatureThreshold, 0xFu << 16 | 355).IsSuccess, Is.True, "TMPSEL Fh: all sensors, i.e. the composite");
        Assert.That(Get(c, FeatureId.TemperatureThreshold).Value, Is.EqualTo(355u));
        Assert.That(Get(c, FeatureId.TemperatureThreshold, 1u << 16).Status, Is.EqualTo(NvmeStatus.InvalidField), "no temperature sensor 1");
        Assert.That(Set(c, FeatureId.TemperatureThreshold, 2u << 20 | 300), Is.EqualTo(NvmeStatus.InvalidField), "THSEL 2 is reserved");
    }

    [Test]
    public void Error_recovery_and_write_atomicity_hold_their_values()
    {
        using var c = NvmeController.Open("mem:size=1M");
        Assert.That(Set(c, FeatureId.ErrorRecovery, 25).IsSuccess, Is.True);
        Assert.That(Get(c, FeatureId.ErrorRecovery).Value, Is.EqualTo(25u));
        Assert.That(Set(c, FeatureId.ErrorRecovery, 1u << 16), Is.EqualTo(NvmeStatus.InvalidField), "DULBE without NSFEAT bit 2");
        Assert.That(Set(c, FeatureId.WriteAtomicityNormal, 1).IsSuccess, Is.True);
        Assert.That(Get(c, FeatureId.WriteAtomicityNormal).Value, Is.EqualTo(1u));
        Assert.That(Get(c, FeatureId.WriteAtomicityNormal, select: 1).Value, Is.Zero);
    }
}
