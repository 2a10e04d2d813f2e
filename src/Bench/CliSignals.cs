using System.Runtime.InteropServices;
using PolledNvme.Bench.Run;

namespace PolledNvme.Bench;

/// <summary>
/// SIGINT, SIGTERM and SIGHUP, handled alike. While a benchmark runs (it watches the
/// <see cref="StopRequest"/>), the first signal asks it to stop: the jobs drain, the report is
/// written, the temp image is removed, and pnvme exits 1. Otherwise, or on a second signal, the
/// temp files are removed and the signal takes its default course (the process ends).
/// </summary>
internal static class CliSignals
{
    /// <summary>Registers the handlers for the life of the returned object.</summary>
    public static IDisposable Install(StopRequest stop)
    {
        var registrations = new List<PosixSignalRegistration>();
        foreach (var (signal, name) in new[] { (PosixSignal.SIGINT, "SIGINT"), (PosixSignal.SIGTERM, "SIGTERM"), (PosixSignal.SIGHUP, "SIGHUP") })
        {
            registrations.Add(PosixSignalRegistration.Create(signal, context =>
            {
                if (stop.IsWatched && stop.Request(name))
                {
                    context.Cancel = true;
                    return;
                }
                TemporaryFiles.DeleteAll();
            }));
        }
        return new Registrations(registrations);
    }

    private sealed class Registrations(List<PosixSignalRegistration> all) : IDisposable
    {
        public void Dispose()
        {
            foreach (var r in all) r.Dispose();
        }
    }
}
