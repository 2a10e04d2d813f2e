using System.Diagnostics.Metrics;
using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Queues;
using PolledNvme.Tests.Support;

namespace PolledNvme.Tests.Driver;

/// <summary>
/// Metrics cost no allocation per I/O: steady-state callback I/O on the null backend allocates
/// nothing with nobody listening, with a MeterListener on the counters (the observable
/// instruments are read by the collector, never per I/O), and with the latency histogram
/// listened to (a timestamp and one Record per completion, with tag lists made at creation).
/// </summary>
public class MetricsAllocationTests
{
    private const int Iterations = 20_000;

    public enum Listening { Nobody, Counters, CountersAndHistogram }

    private sealed class Tally
    {
        public long Observed;
        public long Recorded;
    }

    [TestCase(Listening.Nobody)]
    [TestCase(Listening.Counters)]
    [TestCase(Listening.CountersAndHistogram)]
    public void CallbackIoAllocatesNothingPerIo(Listening listening)
    {
        var tally = new Tally();
        using var listener = new MeterListener();
        if (listening != Listening.Nobody)
        {
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == NvmeDiagnostics.MeterName && (listening == Listening.CountersAndHistogram || instrument is not Histogram<double>))
                    l.EnableMeasurementEvents(instrument, tally);
            };
            listener.SetMeasurementEventCallback<long>(static (_, _, _, state) => ((Tally)state!).Observed++);
            listener.SetMeasurementEventCallback<double>(static (_, _, _, state) => ((Tally)state!).Recorded++);
            listener.Start();
        }

        using var setup = EmulatedSetup.Open("null:lbads=4096,size=1G", o => o.Address = $"null:metrics-alloc-{Guid.NewGuid():N}");
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(64);
        using DmaBuffer data = setup.Controller.Memory.Allocate(4096);
        var counter = new CompletionCounter();
        Action<int> submitOne = i =>
        {
            ulong lba = (ulong)(i % 1024);
            if ((i & 1) == 0)
                qp.Read(ns, lba, 1, data, null, default, CompletionCounter.Callback, counter);
            else
                qp.Write(ns, lba, 1, data, null, default, CompletionCounter.Callback, counter);
        };
        void Run(int count) => CompletionCounter.RunCallbackLoop(qp, count, submitOne);

        long allocated = SteadyState.AllocatedBytes(Run, Iterations);
        Assert.That(counter.Completed, Is.EqualTo(2 * Iterations));
        Assert.That(counter.Failed, Is.Zero);
        Assert.That(allocated, Is.Zero, $"{allocated} bytes allocated over {Iterations} I/Os with {listening} listening");

        // The listener really was attached: the histogram saw every completion, the counters answer a collection.
        Assert.That(tally.Recorded, Is.EqualTo(listening == Listening.CountersAndHistogram ? 2 * Iterations : 0));
        listener.RecordObservableInstruments();
        Assert.That(tally.Observed, listening == Listening.Nobody ? Is.Zero : Is.GreaterThan(0));
    }
}
