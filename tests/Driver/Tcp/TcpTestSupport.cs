using PolledNvme.Driver;
using PolledNvme.Driver.Tcp;

namespace PolledNvme.Tests.Driver.Tcp;

internal static class TcpTestSupport
{
    public const string HostNqn = "nqn.2024-01.io.polled-nvme:unit-test-host";

    /// <summary>Opens the scripted target's subsystem through the device string (the registry's tcp: opener).</summary>
    public static NvmeController Open(ScriptedTcpTarget target, string keys = "", NvmeControllerOptions? options = null)
        => NvmeController.Open(target.DeviceString("hostnqn=" + HostNqn + (keys.Length == 0 ? "" : "," + keys)), options);

    public static NvmeTcpTransport Tcp(this NvmeController controller) => (NvmeTcpTransport)controller.Transport;

    /// <summary>Polls <paramref name="pair"/> until <paramref name="done"/> (bounded: a hang fails the test instead of stalling it).</summary>
    public static void PollUntil(IoQueuePair pair, Func<bool> done, string what, int seconds = 30)
    {
        long deadline = Environment.TickCount64 + seconds * 1000L;
        while (!done())
        {
            pair.ProcessCompletions();
            if (Environment.TickCount64 > deadline)
                throw new TimeoutException($"{what} did not happen within {seconds} s");
            Thread.Yield();
        }
    }

    public static void Fill(Span<byte> span, int seed)
    {
        var random = new Random(seed);
        random.NextBytes(span);
    }
}
