using System.Runtime.CompilerServices;

// The crash-consistency test's child process (tools/PiCrashWriter) drives an EmulatedNamespace
// directly, as the device thread would; it needs the namespace's internal API.
[assembly: InternalsVisibleTo("PolledNvme.Tests.PiCrashWriter")]
