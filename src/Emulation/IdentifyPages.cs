using System.Buffers.Binary;
using System.Runtime.InteropServices;
using PolledNvme.Driver.Spec;

namespace PolledNvme.Emulation;

/// <summary>Builds the Identify data structures (NVMe Base 2.0 §5.17.2; NVM CS 1.0 §4.1.5) the controller returns.</summary>
internal static class IdentifyPages
{
    /// <summary>PCI vendor id reported: 0 (none; this controller is not a PCI function).</summary>
    private const ushort VendorId = 0;
    /// <summary>Firmware revision reported.</summary>
    public const string FirmwareRevision = "1.0";
    /// <summary>WCTEMP, and the default over-temperature threshold: 343 K (70 °C).</summary>
    public const ushort WarningTemperatureKelvin = 343;

    /// <summary>Identify Controller (CNS 01h).</summary>
    public static void Controller(ControllerCore core, Span<byte> page)
    {
        var o = core.Options;
        var id = new IdentifyController
        {
            Vid = VendorId,
            Ssvid = VendorId,
            Rab = 6,
            Mdts = (byte)o.Mdts,
            Cntlid = 1,
            Ver = ControllerRegisterFile.Version20,
            Ctratt = o.ExtendedLbaFormats ? IdentifyController.CtrattExtendedLbaFormats : 0,
            Cntrltype = 1,                       // I/O controller
            Oacs = (ushort)((1 << 1)             // Format NVM
                | (o.ShadowDoorbells ? IdentifyController.OacsDoorbellBufferConfig : 0)),
            Acl = 3,
            Aerl = AdminCommands.AsyncEventLimit - 1,
            Frmw = 0x03,                         // one slot, read-only
            Lpa = 1 << 2,                        // extended Get Log Page (NUMDU, LPO)
            Elpe = ControllerLogs.ErrorEntries - 1,
            Npss = 0,
            Wctemp = WarningTemperatureKelvin,
            Cctemp = 373,
            Sqes = 0x66,
            Cqes = 0x44,
            Nn = (uint)core.Namespaces.Length,
            Oncs = IdentifyController.OncsCompare | IdentifyController.OncsDatasetManagement
                   | IdentifyController.OncsWriteZeroes | IdentifyController.OncsVerify,
            Fna = 0,                             // Format NVM applies per namespace; no crypto erase
            Vwc = 0x07,                          // volatile write cache present; Flush accepts NSID FFFFFFFFh
            Sgls = 0,
            // All of the media is allocated to the namespaces: nothing left for Namespace Management.
            TnvmcapLow = (ulong)core.Namespaces.Sum(n => n.CapacityBytes),
            UnvmcapLow = 0,
        };
        id.SetSerialNumber(o.SerialNumber);
        id.SetModelNumber(o.ModelNumber);
        id.SetFirmwareRevision(FirmwareRevision);
        id.SetSubsystemNqn($"nqn.2026-11.io.polled-nvme:emulated:{o.SerialNumber}");
        // One operational power state (NPSS = 0): 25.00 W maximum (MXPS = 0: units of 0.01 W);
        // no entry/exit latency since there is nothing to wake; idle and active power not reported.
        id.SetPowerState(0, new PowerStateDescriptor { Mp = 2500 });
        MemoryMarshal.Write(page, in id);
    }

    /// <summary>Identify Namespace (CNS 00h).</summary>
    public static void Namespace(EmulatedNamespace ns, Span<byte> page)
    {
        var id = new IdentifyNamespace
        {
            Nsze = (ulong)ns.BlockCount,
            Ncap = (ulong)ns.BlockCount,
            Nuse = (ulong)ns.BlockCount,
            Nlbaf = (byte)(ns.Formats.Length - 1),
            Mc = IdentifyNamespace.McExtended | IdentifyNamespace.McSeparate,
            Dpc = 0x07 | IdentifyNamespace.DpcFirst | IdentifyNamespace.DpcLast,
            Dps = (byte)(ns.PiType | (ns.PiFirst ? IdentifyNamespace.DpsFirst : 0)),
            Dlfeat = 0x01 | 0x08,                // deallocated blocks read zeros; Write Zeroes DEAC supported; guard FFFFh
            Noiob = (ushort)ns.Options.OptimalIoBoundary,
            NvmcapLow = (ulong)ns.CapacityBytes,
            Nsattr = ns.ReadOnly ? IdentifyNamespace.NsattrWriteProtected : (byte)0,
        };                                       // EUI64 stays zero: the NGUID identifies the namespace
        id.SetFormatIndex(ns.FormatIndex, ns.ExtendedLba);
        for (int i = 0; i < ns.Formats.Length; i++)
            id.SetLbaFormat(i, ns.Formats[i].ToLbaFormat());
        MemoryMarshal.Write(page, in id);
        WriteNguid(ns, page.Slice(104, 16));
    }

    /// <summary>NVM command set Identify Namespace (CNS 05h, CSI 00h).</summary>
    public static void NvmNamespace(EmulatedNamespace ns, Span<byte> page)
    {
        int sts = ns.Format.StorageTagSize;
        var id = new NvmIdentifyNamespace
        {
            Lbstm = sts == 0 ? 0 : ns.Options.StorageTagMask & (sts == 64 ? ulong.MaxValue : (1ul << sts) - 1),
            // 16b guard with storage tags and the storage tag mask; STC honoured on reads too.
            Pic = NvmIdentifyNamespace.Pic16bPiStorageTag | NvmIdentifyNamespace.Pic16bPiStorageTagMask
                  | NvmIdentifyNamespace.PicStorageTagCheckRead,
            Pifa = 0,                            // bit-granular storage tag masking
        };
        for (int i = 0; i < ns.Formats.Length; i++)
            id.SetExtendedLbaFormat(i, ns.Formats[i].ToExtendedLbaFormat());
        MemoryMarshal.Write(page, in id);
    }

    /// <summary>Active Namespace ID list (CNS 02h): NSIDs greater than <paramref name="after"/>, ascending.</summary>
    public static void ActiveNamespaces(ControllerCore core, uint after, Span<byte> page)
    {
        int slot = 0;
        for (uint nsid = 1; nsid <= core.Namespaces.Length && slot < 1024; nsid++)
            if (nsid > after)
                BinaryPrimitives.WriteUInt32LittleEndian(page[(4 * slot++)..], nsid);
    }

    /// <summary>Namespace Identification Descriptor list (CNS 03h): NGUID and Command Set Identifier.</summary>
    public static void NamespaceDescriptors(EmulatedNamespace ns, Span<byte> page)
    {
        page[0] = 0x02;                          // NIDT: NGUID
        page[1] = 16;
        WriteNguid(ns, page.Slice(4, 16));
        page[20] = 0x04;                         // NIDT: CSI
        page[21] = 1;
        page[24] = 0;                            // NVM command set
    }

    /// <summary>NVM command set Identify Controller (CNS 06h, CSI 00h): no extra size limits.</summary>
    public static void NvmController(Span<byte> page) => page[..4096].Clear();

    private static void WriteNguid(EmulatedNamespace ns, Span<byte> nguid)
    {
        // Stable and unique per namespace: a fixed prefix, then the NSID.
        "PNVMEEMU"u8.CopyTo(nguid);
        BinaryPrimitives.WriteUInt64BigEndian(nguid[8..], ns.Id);
    }
}
