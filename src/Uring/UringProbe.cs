namespace PolledNvme.Uring;

/// <summary>
/// The opcodes this kernel supports, read once at ring setup with IORING_REGISTER_PROBE
/// (5.6+). Without a probe (older kernels) the 5.1 opcode set is assumed.
/// </summary>
public sealed unsafe class UringProbe
{
    private readonly bool[] _supported = new bool[UringAbi.ProbeOpSlots];

    private UringProbe(bool available) => IsAvailable = available;

    /// <summary>True when the kernel answered the probe; false when the 5.1 set is assumed.</summary>
    public bool IsAvailable { get; }

    /// <summary>The highest opcode the kernel knows (from the probe), or WRITE_FIXED when assumed.</summary>
    public int LastOpcode { get; private set; }

    /// <summary>True if the kernel supports <paramref name="opcode"/>.</summary>
    public bool Supports(UringOpcode opcode) => _supported[(byte)opcode];

    internal static UringProbe Query(UringRing ring)
    {
        int bytes = sizeof(UringProbeHeader) + UringAbi.ProbeOpSlots * sizeof(UringProbeOp);
        byte* buffer = stackalloc byte[bytes];
        new Span<byte>(buffer, bytes).Clear();
        try
        {
            ring.Register(UringAbi.RegisterProbe, buffer, UringAbi.ProbeOpSlots, "IORING_REGISTER_PROBE");
        }
        catch (UringException e) when (e.Errno == Errno.EINVAL)
        {
            return Assumed51();
        }

        var probe = new UringProbe(available: true);
        var header = (UringProbeHeader*)buffer;
        var ops = (UringProbeOp*)(buffer + sizeof(UringProbeHeader));
        probe.LastOpcode = header->LastOp;
        for (int i = 0; i < header->OpsLength && i < UringAbi.ProbeOpSlots; i++)
            if ((ops[i].Flags & UringAbi.ProbeOpSupported) != 0)
                probe._supported[ops[i].Op] = true;
        return probe;
    }

    private static UringProbe Assumed51()
    {
        var probe = new UringProbe(available: false) { LastOpcode = (int)UringOpcode.WriteFixed };
        for (int op = 0; op <= (int)UringOpcode.WriteFixed; op++)
            probe._supported[op] = true;
        return probe;
    }
}
