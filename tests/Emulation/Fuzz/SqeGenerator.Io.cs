using System.Buffers.Binary;
using PolledNvme.Driver.Spec;
using PolledNvme.Protection;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Emulation.Fuzz;

/// <summary>NVM command set commands: Read, Write, Compare, Write Zeroes, Verify, Dataset Management, Flush, unknown opcodes.</summary>
internal sealed partial class SqeGenerator
{
    private static readonly byte[] KnownIoOpcodes = [0x00, 0x01, 0x02, 0x05, 0x08, 0x09, 0x0C];

    /// <summary>One I/O command (its command id is set when it is placed in a queue).</summary>
    public SubmissionEntry IoCommand(out string shape)
    {
        int roll = random.Next(100);
        var e = new SubmissionEntry();
        if (roll < 3)
        {
            Randomize(ref e);
            if (Chance(50))
                e.Opcode = KnownIoOpcodes[random.Next(KnownIoOpcodes.Length)];
            shape = "random-dwords";
            return e;
        }
        if (roll < 6)
        {
            Randomize(ref e);
            do
                e.Opcode = (byte)random.Next(256);
            while (Array.IndexOf(KnownIoOpcodes, e.Opcode) >= 0);
            if (Chance(70))
                e.Flags = 0;
            shape = "unknown-opcode";
            return e;
        }
        if (Chance(3))
            e.Flags = (byte)random.Next(256);   // FUSE and PSDT (SGLs): not supported
        NvmOpcode opcode = roll switch
        {
            < 28 => NvmOpcode.Read,
            < 50 => NvmOpcode.Write,
            < 58 => NvmOpcode.Compare,
            < 69 => NvmOpcode.WriteZeroes,
            < 79 => NvmOpcode.Verify,
            < 93 => NvmOpcode.DatasetManagement,
            _ => NvmOpcode.Flush,
        };
        e.Opcode = (byte)opcode;
        e.NamespaceId = PickNamespaceId();
        var ns = Model.Namespace(e.NamespaceId) ?? Model.Namespaces[random.Next(Model.Namespaces.Length)];
        switch (opcode)
        {
            case NvmOpcode.Flush:
                if (Chance(20))
                    e.Cdw10 = NextUInt32();
                shape = "flush";
                return e;
            case NvmOpcode.DatasetManagement:
                shape = "dsm " + DatasetManagement(ref e, ns);
                return e;
        }

        int blocks = PickBlockCount(ns, opcode);
        ulong slba = PickStartLba(ns, blocks);
        e.Cdw10 = (uint)slba;
        e.Cdw11 = (uint)(slba >> 32);
        e.Cdw12 = (uint)(blocks - 1) | ((uint)random.Next(16) << CommandFields.PrinfoShift);
        if (Chance(20))
            e.Cdw12 |= CommandFields.StorageTagCheck;
        if (Chance(20))
            e.Cdw12 |= CommandFields.ForceUnitAccess | (Chance(50) ? CommandFields.LimitedRetry : 0);
        if (opcode == NvmOpcode.WriteZeroes && Chance(30))
            e.Cdw12 |= CommandFields.Deallocate;
        if (opcode == NvmOpcode.WriteZeroes && Chance(60))
            e.Cdw12 &= ~(CommandFields.PrchkGuard | CommandFields.PrchkApplicationTag | CommandFields.PrchkReferenceTag | CommandFields.StorageTagCheck);
        FillTags(ref e, ns, slba);
        shape = $"{opcode} nlb {blocks} slba {slba}";
        if (opcode is NvmOpcode.Read or NvmOpcode.Write or NvmOpcode.Compare)
            shape += " " + HostBuffers(ref e, ns, blocks, opcode);
        else if (Chance(10))
            e.Prp1 = _addresses.NextUInt64();   // Verify and Write Zeroes move no data: pointers are ignored
        return e;
    }

    /// <summary>Mostly a few blocks; sometimes up to or past MDTS, and the NLB extremes.</summary>
    private int PickBlockCount(NamespaceModel ns, NvmOpcode opcode)
    {
        int perCommand = Math.Max(1, Model.MaxTransferBytes / (ns.BlockSize + (ns.ExtendedLba ? ns.MetadataSize : 0)));
        int roll = random.Next(100);
        if (roll < 55)
            return random.Next(1, Math.Min(8, perCommand) + 1);
        if (roll < 80)
            return random.Next(1, Math.Min(perCommand, 65536) + 1);
        return random.Next(6) switch
        {
            0 => 65536,
            1 => Math.Min(perCommand, 65536),
            2 => Math.Min(perCommand + 1, 65536),
            3 => 1,
            4 => (int)Math.Clamp(ns.BlockCount, 1, 65536),
            _ => random.Next(1, 65537),
        };
    }

    /// <summary>Mostly inside the namespace; sometimes ending exactly at its end, one past it, or far beyond.</summary>
    private ulong PickStartLba(NamespaceModel ns, int blocks)
    {
        ulong count = (ulong)ns.BlockCount;
        if (Chance(75) && count >= (ulong)blocks)
            return (ulong)random.NextInt64(0, (long)(count - (ulong)blocks) + 1);
        return random.Next(8) switch
        {
            0 => count - Math.Min(count, (ulong)blocks),
            1 => count - Math.Min(count, (ulong)blocks) + 1,
            2 => count,
            3 => count - 1,
            4 => ulong.MaxValue,
            5 => ulong.MaxValue - (ulong)blocks + 1,
            6 => (1ul << 32) + (ulong)random.Next(16),
            _ => _addresses.NextUInt64(),
        };
    }

    /// <summary>ILBRT/LBST (CDW2, CDW3, CDW14) and LBAT/LBATM (CDW15): for PI, mostly the right reference tag.</summary>
    private void FillTags(ref SubmissionEntry e, NamespaceModel ns, ulong slba)
    {
        if (ns.Pi is { } pi && Chance(70))
        {
            ulong storageTag = pi.StorageTagSize == 0 ? 0 : _addresses.NextUInt64() & pi.StorageTagMask;
            PiCommandFields.PackTags(pi, storageTag, slba & pi.ReferenceTagMask, out e.Cdw2, out e.Cdw3, out e.Cdw14);
        }
        else
        {
            e.Cdw2 = NextUInt32();
            e.Cdw3 = NextUInt32();
            e.Cdw14 = NextUInt32();
        }
        e.Cdw15 = random.Next(4) switch
        {
            0 => 0xFFFF | ((uint)random.Next(65536) << 16),   // the application tag escape
            1 => (uint)random.Next(65536),                      // mask 0: nothing compared
            _ => NextUInt32(),
        };
    }

    /// <summary>PRPs for the data and (separate metadata) MPTR, sized from the model's PRACT rules.</summary>
    private string HostBuffers(ref SubmissionEntry e, NamespaceModel ns, int blocks, NvmOpcode opcode)
    {
        bool pract = ns.Pi is not null && (e.Cdw12 & CommandFields.Pract) != 0;
        bool withMetadata = opcode == NvmOpcode.Compare ? ns.MetadataSize != 0 : ns.HostCarriesMetadata(pract);
        long bytes = ns.HostBytes(blocks, withMetadata);
        string shape;
        if (bytes > Model.MaxTransferBytes)
        {
            e.Prp1 = _addresses.DataPage();
            shape = "over-mdts";
        }
        else
            shape = DataPointer(ref e, (int)bytes);
        if (withMetadata && !ns.ExtendedLba)
        {
            int metadataBytes = (int)Math.Min((long)blocks * ns.MetadataSize, int.MaxValue);
            var md = Memory.Metadata;
            int roll = random.Next(100);
            if (roll < 75 && metadataBytes <= md.Length)
            {
                e.MetadataPointer = md.Iova + (ulong)(random.Next((md.Length - metadataBytes) / 4 + 1) * 4);
                shape += " mptr";
            }
            else if (roll < 85)
            {
                e.MetadataPointer = md.IovaEnd - (ulong)(Math.Max(metadataBytes - 4 * random.Next(1, 4), 0) & ~3);   // overruns the mapping
                shape += " mptr-overrun";
            }
            else
            {
                e.MetadataPointer = _addresses.Wild(deviceReads: opcode != NvmOpcode.Read);
                shape += " mptr-wild";
            }
        }
        else if (Chance(30))
            e.MetadataPointer = _addresses.NextUInt64();   // unused: any value
        return shape;
    }

    /// <summary>Dataset Management: NR, the attributes, and a range list mostly inside the namespace.</summary>
    private string DatasetManagement(ref SubmissionEntry e, NamespaceModel ns)
    {
        int ranges = random.Next(10) switch
        {
            < 6 => random.Next(1, 5),
            < 8 => random.Next(1, 257),
            8 => 256,
            _ => 1,
        };
        e.Cdw10 = (uint)(ranges - 1) | (Chance(5) ? NextUInt32() & 0xFFFF_FF00 : 0);
        e.Cdw11 = Chance(85) ? CommandFields.DsmAttributeDeallocate : 0;
        if (Chance(30))
            e.Cdw11 |= (uint)random.Next(4);   // integral dataset for read / write hints
        Span<byte> list = new byte[ranges * 16];
        ulong count = (ulong)ns.BlockCount;
        for (int i = 0; i < ranges; i++)
        {
            var range = list.Slice(i * 16, 16);
            BinaryPrimitives.WriteUInt32LittleEndian(range, Chance(20) ? NextUInt32() : 0);   // context attributes
            uint length = random.Next(10) switch
            {
                < 6 => (uint)random.Next(0, 17),
                < 8 => (uint)random.Next(0, (int)Math.Min(count, int.MaxValue) + 1),
                8 => 0,
                _ => NextUInt32(),
            };
            ulong start = Chance(85) && count >= length
                ? (ulong)random.NextInt64(0, (long)(count - length) + 1)
                : random.Next(3) switch { 0 => count, 1 => count - 1, _ => _addresses.NextUInt64() };
            BinaryPrimitives.WriteUInt32LittleEndian(range[4..], length);
            BinaryPrimitives.WriteUInt64LittleEndian(range[8..], start);
        }
        return $"ranges {ranges} " + ListBuffer(ref e, list);
    }
}
