using System.Buffers.Binary;
using PolledNvme.Driver.Spec;
using PolledNvme.Protection;
using PolledNvme.Queues;

namespace PolledNvme.Emulation;

/// <summary>Flush, Write Zeroes, Dataset Management and Verify: commands without a block data transfer, unbounded by MDTS.</summary>
internal sealed unsafe partial class IoCommands
{
    /// <summary>Dataset Management range entry size (NVM CS 1.0 Fig 40).</summary>
    private const int DsmRangeSize = 16;

    private NvmeStatus Flush(uint namespaceId)
    {
        var namespaces = _core.Namespaces;
        if (namespaceId == AllNamespaces)
        {
            foreach (var ns in namespaces)
                ns.Flush();
            return NvmeStatus.Success;
        }
        if (namespaceId - 1 >= (uint)namespaces.Length)
            return NvmeStatus.InvalidNamespaceOrFormat;
        namespaces[namespaceId - 1].Flush();
        return NvmeStatus.Success;
    }

    /// <summary>Blocks per internal chunk for commands that are not bounded by MDTS.</summary>
    private int ChunkBlocks(EmulatedNamespace ns) => _maxTransfer / ns.BlockSize;

    /// <summary>
    /// Write Zeroes (NVM CS 1.0 §3.2.8, PI.md §5): PRCHK and STC must be 0. DEAC=1 deallocates.
    /// PRACT=0: data and all metadata, PI included, become zeros (the spec; QEMU leaves PI alone).
    /// PRACT=1: data zero, PI generated from LBAT and ILBRT, other metadata zero.
    /// </summary>
    private NvmeStatus WriteZeroes(EmulatedNamespace ns, ref SubmissionEntry c, long slba, int blocks)
    {
        uint cdw12 = c.Cdw12;
        const uint prchk = CommandFields.PrchkGuard | CommandFields.PrchkApplicationTag | CommandFields.PrchkReferenceTag;
        var pi = ns.Protection;
        if (pi is not null && (cdw12 & (prchk | CommandFields.StorageTagCheck)) != 0)
            return NvmeStatus.InvalidField;
        if ((cdw12 & CommandFields.Deallocate) != 0)
        {
            ns.Deallocate(slba, blocks);
            return NvmeStatus.Success;
        }
        if (pi is null || (cdw12 & CommandFields.Pract) == 0)
        {
            ns.Zero(slba, blocks);
            return NvmeStatus.Success;
        }

        var status = ProtectionChecks.Prepare(pi, ns.Options.StorageTagMask, ref c, (ulong)slba, generating: true, out ProtectionContext context);
        if (!status.IsSuccess)
            return status;
        int chunk = ChunkBlocks(ns);
        Span<byte> data = _data.AsSpan(0, chunk * ns.BlockSize);
        data.Clear();
        for (int done = 0; done < blocks; done += chunk)
        {
            int n = Math.Min(chunk, blocks - done);
            Span<byte> metadata = _metadata.AsSpan(0, n * ns.MetadataSize);
            metadata.Clear();
            ContextAt(context, pi, done).Generate(data[..(n * ns.BlockSize)], metadata, n);
            ns.Write(slba + done, n, data, metadata);
        }
        return NvmeStatus.Success;
    }

    /// <summary>Verify (NVM CS 1.0 §3.2.9): reads and checks PI per PRCHK/STC without transferring data.</summary>
    private NvmeStatus Verify(EmulatedNamespace ns, ref SubmissionEntry c, long slba, int blocks)
    {
        var pi = ns.Protection;
        ProtectionContext context = default;
        if (pi is not null)
        {
            var status = ProtectionChecks.Prepare(pi, ns.Options.StorageTagMask, ref c, (ulong)slba, generating: false, out context);
            if (!status.IsSuccess)
                return status;
        }
        int chunk = ChunkBlocks(ns);
        for (int done = 0; done < blocks; done += chunk)
        {
            int n = Math.Min(chunk, blocks - done);
            Span<byte> data = _data.AsSpan(0, n * ns.BlockSize);
            Span<byte> metadata = _metadata.AsSpan(0, n * ns.MetadataSize);
            ns.Read(slba + done, n, data, metadata);
            if (context.Checks != PiChecks.None && !ContextAt(context, pi!, done).Verify(data, metadata, n, out PiError error))
                return Fail(slba + done, error);
        }
        return NvmeStatus.Success;
    }

    /// <summary>The context for the part of a command that starts <paramref name="blocksDone"/> blocks in (reference tags advance per block, Type 1/2).</summary>
    private static ProtectionContext ContextAt(in ProtectionContext context, ProtectionFormat pi, int blocksDone)
        => blocksDone == 0 || pi.Type == PiType.Type3
            ? context
            : context.WithInitialReferenceTag(context.ExpectedReferenceTag(blocksDone));

    /// <summary>Dataset Management (NVM CS 1.0 §3.2.3): all ranges are checked before any is deallocated.</summary>
    private NvmeStatus DatasetManagement(EmulatedNamespace ns, ref SubmissionEntry c)
    {
        int ranges = (int)(c.Cdw10 & 0xFF) + 1;
        int bytes = ranges * DsmRangeSize;
        var status = _prp.Resolve(c.Prp1, c.Prp2, bytes, _core.Registers.PageSize);
        if (!status.IsSuccess)
            return status;
        Span<byte> list = _transfer.AsSpan(0, bytes);
        _prp.CopyFromHost(list);
        if ((c.Cdw11 & CommandFields.DsmAttributeDeallocate) == 0)
            return NvmeStatus.Success;   // integral read/write hints only: nothing to do
        for (int i = 0; i < ranges; i++)
        {
            var range = list.Slice(i * DsmRangeSize, DsmRangeSize);
            ulong length = BinaryPrimitives.ReadUInt32LittleEndian(range[4..]);
            ulong start = BinaryPrimitives.ReadUInt64LittleEndian(range[8..]);
            if (start > (ulong)ns.BlockCount || length > (ulong)ns.BlockCount - start)
            {
                LastErrorLba = start;
                return NvmeStatus.LbaOutOfRange;
            }
        }
        for (int i = 0; i < ranges; i++)
        {
            var range = list.Slice(i * DsmRangeSize, DsmRangeSize);
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(range[4..]);
            if (length != 0)
                ns.Deallocate((long)BinaryPrimitives.ReadUInt64LittleEndian(range[8..]), length);
        }
        return NvmeStatus.Success;
    }
}
