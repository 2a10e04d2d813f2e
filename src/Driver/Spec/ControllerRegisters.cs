namespace PolledNvme.Driver.Spec;

/// <summary>Controller register offsets in BAR0 (NVMe Base 2.0 §3.1.4, Fig 33).</summary>
public static class ControllerRegisters
{
    /// <summary>Controller Capabilities (64-bit).</summary>
    public const int Cap = 0x00;
    /// <summary>Version.</summary>
    public const int Vs = 0x08;
    /// <summary>Interrupt Mask Set.</summary>
    public const int Intms = 0x0C;
    /// <summary>Interrupt Mask Clear.</summary>
    public const int Intmc = 0x10;
    /// <summary>Controller Configuration.</summary>
    public const int Cc = 0x14;
    /// <summary>Controller Status.</summary>
    public const int Csts = 0x1C;
    /// <summary>NVM Subsystem Reset.</summary>
    public const int Nssr = 0x20;
    /// <summary>Admin Queue Attributes.</summary>
    public const int Aqa = 0x24;
    /// <summary>Admin Submission Queue Base Address (64-bit).</summary>
    public const int Asq = 0x28;
    /// <summary>Admin Completion Queue Base Address (64-bit).</summary>
    public const int Acq = 0x30;
    /// <summary>First doorbell (SQ 0 tail).</summary>
    public const int DoorbellBase = 0x1000;

    /// <summary>Offset of submission queue <paramref name="qid"/>'s tail doorbell (§3.1.4.23).</summary>
    public static int SqTailDoorbell(int qid, int dstrd) => DoorbellBase + (2 * qid) * (4 << dstrd);

    /// <summary>Offset of completion queue <paramref name="qid"/>'s head doorbell (§3.1.4.24).</summary>
    public static int CqHeadDoorbell(int qid, int dstrd) => DoorbellBase + (2 * qid + 1) * (4 << dstrd);
}

/// <summary>CAP fields (NVMe Base 2.0 §3.1.4.1).</summary>
public readonly record struct ControllerCapabilities(ulong Value)
{
    /// <summary>Maximum Queue Entries Supported, 0's based.</summary>
    public int Mqes => (int)(Value & 0xFFFF);
    /// <summary>Contiguous Queues Required.</summary>
    public bool Cqr => ((Value >> 16) & 1) != 0;
    /// <summary>Timeout, in 500 ms units: worst case time to wait for CSTS.RDY to change.</summary>
    public int To => (int)((Value >> 24) & 0xFF);
    /// <summary>Doorbell Stride: doorbells are 2^(2+DSTRD) bytes apart.</summary>
    public int Dstrd => (int)((Value >> 32) & 0xF);
    /// <summary>NVM Subsystem Reset Supported.</summary>
    public bool Nssrs => ((Value >> 36) & 1) != 0;
    /// <summary>Command Sets Supported (bit 0 NVM command set, bit 7 no I/O command set).</summary>
    public int Css => (int)((Value >> 37) & 0xFF);
    /// <summary>Memory Page Size Minimum: 2^(12+MPSMIN).</summary>
    public int Mpsmin => (int)((Value >> 48) & 0xF);
    /// <summary>Memory Page Size Maximum: 2^(12+MPSMAX).</summary>
    public int Mpsmax => (int)((Value >> 52) & 0xF);

    /// <summary>Builds a CAP value.</summary>
    public static ControllerCapabilities Create(int mqes, bool cqr, int to, int dstrd, int css, int mpsmin, int mpsmax)
        => new((ulong)(uint)mqes | (cqr ? 1ul << 16 : 0) | ((ulong)(uint)to << 24) | ((ulong)(uint)dstrd << 32)
               | ((ulong)(uint)css << 37) | ((ulong)(uint)mpsmin << 48) | ((ulong)(uint)mpsmax << 52));
}

/// <summary>CC fields (NVMe Base 2.0 §3.1.4.5).</summary>
public static class ControllerConfiguration
{
    /// <summary>Enable.</summary>
    public const uint Enable = 1;
    /// <summary>CSS field shift ([6:4]); 000b = NVM command set.</summary>
    public const int CssShift = 4;
    /// <summary>MPS field shift ([10:7]): memory page size 2^(12+MPS).</summary>
    public const int MpsShift = 7;
    /// <summary>AMS field shift ([13:11]).</summary>
    public const int AmsShift = 11;
    /// <summary>SHN field shift ([15:14]): 01b normal shutdown, 10b abrupt shutdown.</summary>
    public const int ShnShift = 14;
    /// <summary>IOSQES field shift ([19:16]).</summary>
    public const int IosqesShift = 16;
    /// <summary>IOCQES field shift ([23:20]).</summary>
    public const int IocqesShift = 20;
}

/// <summary>CSTS fields (NVMe Base 2.0 §3.1.4.6).</summary>
public static class ControllerStatus
{
    /// <summary>Ready.</summary>
    public const uint Ready = 1;
    /// <summary>Controller Fatal Status.</summary>
    public const uint Fatal = 1 << 1;
    /// <summary>SHST field shift ([3:2]): 00b normal, 01b occurring, 10b complete.</summary>
    public const int ShstShift = 2;
    /// <summary>SHST mask (after shifting).</summary>
    public const uint ShstMask = 3;
    /// <summary>NVM Subsystem Reset Occurred.</summary>
    public const uint Nssro = 1 << 4;
    /// <summary>Processing Paused.</summary>
    public const uint ProcessingPaused = 1 << 5;
}
