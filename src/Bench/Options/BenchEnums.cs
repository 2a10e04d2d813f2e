using PolledNvme.Protection;

namespace PolledNvme.Bench.Options;

/// <summary>fio's <c>--rw</c> patterns.</summary>
public enum RwPattern
{
    /// <summary>Sequential reads.</summary>
    Read,
    /// <summary>Sequential writes.</summary>
    Write,
    /// <summary>Random reads.</summary>
    RandRead,
    /// <summary>Random writes.</summary>
    RandWrite,
    /// <summary>Sequential mixed reads and writes (fio's <c>rw</c> / <c>readwrite</c>).</summary>
    ReadWrite,
    /// <summary>Random mixed reads and writes.</summary>
    RandReadWrite,
    /// <summary>Sequential trims (Dataset Management, deallocate).</summary>
    Trim,
    /// <summary>Random trims.</summary>
    RandTrim,
    /// <summary>Sequential trim then write of the same blocks.</summary>
    TrimWrite,
    /// <summary>Random trim then write of the same blocks.</summary>
    RandTrimWrite,
}

/// <summary>Which PI work the host does in software (<c>--host-pi</c>).</summary>
[Flags]
public enum HostPi
{
    /// <summary>The host leaves PI to the controller.</summary>
    None = 0,
    /// <summary>The host generates PI for writes (writes go with PRACT=0).</summary>
    Generate = 1,
    /// <summary>The host verifies PI of reads (reads go with PRACT=0).</summary>
    Verify = 2,
    /// <summary>Both.</summary>
    Both = Generate | Verify,
}

/// <summary>Output format of reports (<c>--output-format</c>).</summary>
public enum OutputFormat
{
    /// <summary>fio-like text.</summary>
    Normal,
    /// <summary>fio-shaped JSON.</summary>
    Json,
}

