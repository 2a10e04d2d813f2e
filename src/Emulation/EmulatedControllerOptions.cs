using PolledNvme.Queues;

namespace PolledNvme.Emulation;

/// <summary>How the emulated controller gets CPU time.</summary>
public enum EmulatedControllerMode
{
    /// <summary>A device thread spins on the doorbells, like real hardware.</summary>
    Threaded,
    /// <summary>No thread: the host's polling runs the device (its inline binding steps it on every property read and ProcessCompletions), or <see cref="EmulatedController.Step"/>. Deterministic.</summary>
    Inline,
}

/// <summary>Settings of an emulated NVMe controller. Validated by <see cref="EmulatedController.Create"/>.</summary>
public sealed class EmulatedControllerOptions
{
    /// <summary>The namespaces, NSID 1 upwards. At least one.</summary>
    public List<EmulatedNamespaceOptions> Namespaces { get; set; } = [];

    /// <summary>Device thread or inline stepping.</summary>
    public EmulatedControllerMode Mode { get; set; } = EmulatedControllerMode.Threaded;

    /// <summary>CPU the device thread is pinned to (sched_setaffinity), or null for no pinning.</summary>
    public int? DeviceCpu { get; set; }

    /// <summary>Largest I/O queue, in entries (CAP.MQES + 1): 2-65536.</summary>
    public int MaxQueueEntries { get; set; } = 1024;

    /// <summary>CAP.DSTRD: doorbells are 4 &lt;&lt; stride bytes apart (0-15; memory grows with it).</summary>
    public int DoorbellStride { get; set; }

    /// <summary>Identify Controller MDTS: the largest transfer is 2^Mdts pages of 4 KiB (1-10).</summary>
    public int Mdts { get; set; } = 7;

    /// <summary>I/O queue pairs the controller offers (Number of Queues feature maximum): 1-1024.</summary>
    public int MaxIoQueuePairs { get; set; } = 16;

    /// <summary>
    /// Offer Doorbell Buffer Config (OACS bit 8, NVMe Base 2.0 §5.9): once the host sends it, the
    /// device reads the queues' shadow doorbells in host memory and writes EventIdx as QEMU does
    /// (the SQ tail and CQ head it last read). Device string: <c>dbbuf=0|1</c>. Default false.
    /// </summary>
    public bool ShadowDoorbells { get; set; }

    /// <summary>
    /// Longest sleep of the idle device thread before it looks at its registers again although no
    /// host write woke it: a safety net for writes that bypass the transport (a raw
    /// <c>PcieTransport.Registers</c> store). Default 100 ms; tests set infinite, so that a lost
    /// wake-up hangs (and fails) instead of costing 100 ms.
    /// </summary>
    internal TimeSpan IdleSleepLimit { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Report CTRATT.ELBAS (extended LBA formats: 32b/64b guard, storage tags).</summary>
    public bool ExtendedLbaFormats { get; set; } = true;

    /// <summary>Identify Controller serial number (ASCII, at most 20 characters).</summary>
    public string SerialNumber { get; set; } = "PNVMEEMU0001";

    /// <summary>Identify Controller model number (ASCII, at most 40 characters).</summary>
    public string ModelNumber { get; set; } = "PolledNvme emulated controller";

    /// <summary>The transport's Address; derived from the first namespace when null.</summary>
    public string? Address { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting that breaks a rule.</summary>
    public void Validate()
    {
        if (Namespaces is null || Namespaces.Count == 0)
            throw new ArgumentException("Namespaces: an emulated controller needs at least one namespace.", nameof(Namespaces));
        if (Namespaces.Count > 1024)
            throw new ArgumentException($"Namespaces: {Namespaces.Count} namespaces is more than the 1024 supported.", nameof(Namespaces));
        for (int i = 0; i < Namespaces.Count; i++)
        {
            if (Namespaces[i] is null)
                throw new ArgumentException($"Namespaces[{i}] is null.", nameof(Namespaces));
            Namespaces[i].Validate();
        }
        if (!Enum.IsDefined(Mode))
            throw new ArgumentException($"mode: {Mode} is not valid; accepted: threaded or inline.", nameof(Mode));
        if (DeviceCpu is { } cpu && Array.IndexOf(CoreAffinity.AllowedCpus(), cpu) < 0)
            throw new ArgumentException($"cpu: CPU {cpu} is not one this process may run on; allowed: {string.Join(",", CoreAffinity.AllowedCpus())}.", nameof(DeviceCpu));
        if (MaxQueueEntries is < 2 or > 65536)
            throw new ArgumentException($"mqes: {MaxQueueEntries} queue entries is not valid; accepted: 2-65536.", nameof(MaxQueueEntries));
        if (DoorbellStride is < 0 or > 15)
            throw new ArgumentException($"dstrd: doorbell stride {DoorbellStride} is not valid; accepted: 0-15.", nameof(DoorbellStride));
        if (Mdts is < 1 or > 10)
            throw new ArgumentException($"mdts: {Mdts} is not valid; accepted: 1-10 (2^mdts pages of 4 KiB).", nameof(Mdts));
        if (MaxIoQueuePairs is < 1 or > 1024)
            throw new ArgumentException($"qpairs: {MaxIoQueuePairs} I/O queue pairs is not valid; accepted: 1-1024.", nameof(MaxIoQueuePairs));
        if (SerialNumber is null || SerialNumber.Length > 20 || !System.Text.Ascii.IsValid(SerialNumber))
            throw new ArgumentException("SerialNumber: must be ASCII, at most 20 characters.", nameof(SerialNumber));
        if (ModelNumber is null || ModelNumber.Length > 40 || !System.Text.Ascii.IsValid(ModelNumber))
            throw new ArgumentException("ModelNumber: must be ASCII, at most 40 characters.", nameof(ModelNumber));
        foreach (var ns in Namespaces)
            if (!ExtendedLbaFormats && (ns.GuardFormat != 0 || ns.StorageTagSize != 0))
                throw new ArgumentException("pif/sts: 32b/64b guard formats and storage tags need ExtendedLbaFormats (CTRATT.ELBAS).", nameof(ExtendedLbaFormats));
    }

    /// <summary>A deep copy, so a running controller never sees later changes to the caller's objects.</summary>
    public EmulatedControllerOptions Clone()
    {
        var copy = (EmulatedControllerOptions)MemberwiseClone();
        copy.Namespaces = Namespaces.Select(n => n.Clone()).ToList();
        return copy;
    }

    /// <summary>
    /// Parses a device string: <c>emu:PATH[,key=value...]</c> (file backend, created when
    /// missing), <c>mem:[key=value,...]</c> (RAM) or <c>null:[key=value,...]</c> (null backend).
    /// Namespace keys: <c>lbads</c> (9, 12, 512 or 4096), <c>ms</c>, <c>mset</c>, <c>pi</c>, <c>pil</c>,
    /// <c>pif</c>, <c>sts</c>, <c>size</c> (bytes, K/M/G/T suffixes). Controller keys: <c>mode</c>
    /// (threaded|inline), <c>cpu</c>, <c>mqes</c>, <c>dstrd</c>, <c>mdts</c>, <c>qpairs</c>, <c>dbbuf</c> (0|1).
    /// </summary>
    /// <exception cref="ArgumentException">Unknown scheme, unknown key, or a bad value; the message names the key and the accepted values.</exception>
    public static EmulatedControllerOptions Parse(string address) => EmulatedAddressParser.Parse(address);
}
