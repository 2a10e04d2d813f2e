using System.Buffers.Binary;
using PolledNvme.Driver.Spec;
using PolledNvme.Protection;
using PolledNvme.Queues;

namespace PolledNvme.Emulation;

/// <summary>
/// Flush, Write Zeroes and Dataset Management: commands without a block data transfer, unbounded
/// by MDTS. Write Zeroes and Dataset Management run synchronously on the device thread (holes and
/// metadata patterns; their order on the media is <see cref="EmulatedNamespace"/>'s), on a file of
/// the asynchronous path once nothing is in flight on their namespace; a Flush of such a file
/// waits there for the writes before it.
/// </summary>
internal sealed unsafe partial class IoCommands
{
    /// <summary>Dataset Management range entry size (NVM CS 1.0 Fig 40).</summary>
    private const int DsmRangeSize = 16;

    /// <summary>The Dataset Management range list (at most 256 ranges).</summary>
    private readonly byte[] _ranges = new byte[256 * DsmRangeSize];

    /// <summary>Flush (NVM CS 1.0 §3.2.1), of one namespace or all (NSID FFFFFFFFh).</summary>
    private NvmeStatus Flush(ref SubmissionEntry c, EmulatedSubmissionQueue sq)
    {
        uint namespaceId = c.NamespaceId;
        var namespaces = _core.Namespaces;
        if (namespaceId != AllNamespaces && namespaceId - 1 >= (uint)namespaces.Length)
            return NvmeStatus.InvalidNamespaceOrFormat;
        bool asynchronous = false;
        for (int i = 0; i < namespaces.Length; i++)
        {
            if (namespaceId != AllNamespaces && i != namespaceId - 1)
                continue;
            if (namespaces[i].AsyncFile is not null && _core.Media is not null)
                asynchronous = true;
            else
                namespaces[i].Flush();   // synchronous media: every write before it has ended
        }
        return asynchronous ? _core.Media!.AcceptFlush(ref c, sq) : NvmeStatus.Success;
    }

    /// <summary>
    /// Write Zeroes and Dataset Management: the namespace rules, then the command — at once, or
    /// on a file of the asynchronous path once nothing is in flight on its namespace.
    /// </summary>
    private NvmeStatus Maintenance(ref SubmissionEntry c, EmulatedSubmissionQueue sq)
    {
        var status = CheckNamespace(ref c, out EmulatedNamespace? ns);
        if (!status.IsSuccess)
            return status;
        if (ns!.AsyncFile is not null && _core.Media is { } media)
            return media.AcceptMaintenance(ref c, sq, ns);
        return RunMaintenance(ref c, ns);
    }

    /// <summary>Runs a Write Zeroes or Dataset Management whose namespace passed its checks (synchronously).</summary>
    public NvmeStatus RunMaintenance(ref SubmissionEntry c, EmulatedNamespace ns)
    {
        LastErrorLba = 0;
        if ((NvmOpcode)c.Opcode == NvmOpcode.DatasetManagement)
            return DatasetManagement(ns, ref c);
        var status = CheckRange(ref c, ns, out long slba, out int blocks);
        return status.IsSuccess ? WriteZeroes(ns, ref c, slba, blocks) : status;
    }

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
            HostBlockTransfer.At(context, done).Generate(data[..(n * ns.BlockSize)], metadata, n);
            ns.Write(slba + done, n, data, metadata);
        }
        return NvmeStatus.Success;
    }

    /// <summary>Dataset Management (NVM CS 1.0 §3.2.3): all ranges are checked before any is deallocated.</summary>
    private NvmeStatus DatasetManagement(EmulatedNamespace ns, ref SubmissionEntry c)
    {
        int ranges = (int)(c.Cdw10 & 0xFF) + 1;
        int bytes = ranges * DsmRangeSize;
        var status = _prp.Resolve(c.Prp1, c.Prp2, bytes, _core.Registers.PageSize);
        if (!status.IsSuccess)
            return status;
        Span<byte> list = _ranges.AsSpan(0, bytes);
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
