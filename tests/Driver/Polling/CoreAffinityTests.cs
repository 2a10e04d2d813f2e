using NUnit.Framework;
using PolledNvme.Emulation;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Driver.Polling;

[TestFixture]
public class CoreAffinityTests
{
    [Test]
    public void AllowedCpusAreTheKernelsListForThisProcess()
    {
        // /proc/self/status names the same set as sched_getaffinity, in the kernel's list syntax ("0-1,4").
        string list = File.ReadLines("/proc/self/status").First(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal)).Split(':')[1].Trim();
        var expected = list.Split(',').SelectMany(part =>
        {
            string[] ends = part.Split('-');
            int first = int.Parse(ends[0]), last = int.Parse(ends[^1]);
            return Enumerable.Range(first, last - first + 1);
        }).ToArray();
        Assert.That(CoreAffinity.AllowedCpus(), Is.EqualTo(expected));
        Assert.That(CoreAffinity.LastAllowedCpu(), Is.EqualTo(expected[^1]));
    }

    [Test]
    public void ADeviceCpuOutsideTheAllowedSetIsRefusedBeforeTheDeviceStarts()
    {
        int outside = Enumerable.Range(0, CoreAffinity.CpuSetSize).First(cpu => !CoreAffinity.AllowedCpus().Contains(cpu));
        var e = Assert.Throws<ArgumentException>(() => EmulatedController.Create(EmulatedControllerOptions.Parse($"mem:size=1M,cpu={outside}")));
        Assert.That(e!.Message, Does.Contain($"cpu: CPU {outside} is not one this process may run on; allowed: "));
    }
}
