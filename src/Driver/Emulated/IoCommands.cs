using System.Runtime.CompilerServices;
using PolledNvme.Driver.Spec;
using PolledNvme.Protection;
using PolledNvme.Queues;

namespace PolledNvme.Driver.Emulated;

/// <summary>
/// The NVM command set I/O commands (NVM CS 1.0 §3): Read, Write, Compare here; Flush, Write
/// Zeroes, Dataset Management and Verify in IoCommands.Maintenance.cs. Data moves host ⇄ bounce
/// buffers ⇄ media; the bounce buffers hold data and metadata apart (the media layout), so the
/// PI engine always sees separate buffers. Every check that can fail runs before the media or
/// the host buffer is touched. Buffers are allocated once; nothing is allocated per command.
/// </summary>
internal sealed unsafe partial class IoCommands
{
    private const uint AllNamespaces = 0xFFFF_FFFF;
    private readonly ControllerCore _core;
    private readonly PrpTransfer _prp;
    private readonly int _maxTransfer;
    private readonly byte[] _transfer;          // host bytes as they travel (extended LBA: interleaved)
    private readonly byte[] _data;              // block data of the command
    private readonly byte[] _metadata;          // metadata of the command
    private readonly byte[] _compareData;       // Compare: the host's data
    private readonly byte[] _compareMetadata;   // Compare: the host's metadata

    public IoCommands(ControllerCore core)
    {
        _core = core;
        _maxTransfer = core.MaxTransferBytes;
        _prp = new PrpTransfer(core.Dma, _maxTransfer);
        // At most maxTransfer/512 blocks per command, each with at most 64 bytes of metadata.
        int metadataBytes = _maxTransfer / 512 * 64;
        _transfer = GC.AllocateUninitializedArray<byte>(_maxTransfer, pinned: true);
        _data = GC.AllocateUninitializedArray<byte>(_maxTransfer, pinned: true);
        _metadata = GC.AllocateUninitializedArray<byte>(metadataBytes, pinned: true);
        _compareData = GC.AllocateUninitializedArray<byte>(_maxTransfer, pinned: true);
        _compareMetadata = GC.AllocateUninitializedArray<byte>(metadataBytes, pinned: true);
    }

    /// <summary>LBA of the last error, for the Error Information log (0 when none applies).</summary>
    public ulong LastErrorLba { get; private set; }

    /// <summary>Executes one I/O command; <paramref name="result"/> is CQE DW0.</summary>
    public NvmeStatus Execute(ref SubmissionEntry c, out uint result)
    {
        result = 0;
        LastErrorLba = 0;
        if ((c.Flags & 0xC3) != 0)
            return NvmeStatus.InvalidField;   // fused operations and SGLs are not supported (PSDT must be 00b)
        var opcode = (NvmOpcode)c.Opcode;
        if (opcode == NvmOpcode.Flush)
            return Flush(c.NamespaceId);
        if (opcode is not (NvmOpcode.Read or NvmOpcode.Write or NvmOpcode.Compare or NvmOpcode.WriteZeroes
            or NvmOpcode.DatasetManagement or NvmOpcode.Verify))
            return NvmeStatus.InvalidCommandOpcode;

        uint index = c.NamespaceId - 1;
        var namespaces = _core.Namespaces;
        if (index >= (uint)namespaces.Length)
            return NvmeStatus.InvalidNamespaceOrFormat;
        var ns = namespaces[index];
        // Extended formats (32b/64b guard, storage tags) need Host Behavior LBAFEE=1 (PI.md §3).
        if (ns.Format.IsExtended && !_core.Features.LbaFormatExtensionEnabled)
            return NvmeStatus.InvalidNamespaceOrFormat;
        // A write protected namespace (ro=1) refuses every command that would change it (NSATTR bit 0).
        if (ns.ReadOnly && (opcode is NvmOpcode.Write or NvmOpcode.WriteZeroes
            || (opcode == NvmOpcode.DatasetManagement && (c.Cdw11 & CommandFields.DsmAttributeDeallocate) != 0)))
            return NvmeStatus.NamespaceWriteProtected;
        if (opcode == NvmOpcode.DatasetManagement)
            return DatasetManagement(ns, ref c);

        ulong slba = c.Cdw10 | ((ulong)c.Cdw11 << 32);
        int blocks = (int)(c.Cdw12 & CommandFields.NlbMask) + 1;
        if (slba > (ulong)ns.BlockCount || (ulong)blocks > (ulong)ns.BlockCount - slba)
        {
            LastErrorLba = slba;
            return NvmeStatus.LbaOutOfRange;
        }
        return opcode switch
        {
            NvmOpcode.Read => Read(ns, ref c, (long)slba, blocks),
            NvmOpcode.Write => Write(ns, ref c, (long)slba, blocks),
            NvmOpcode.Compare => Compare(ns, ref c, (long)slba, blocks),
            NvmOpcode.WriteZeroes => WriteZeroes(ns, ref c, (long)slba, blocks),
            _ => Verify(ns, ref c, (long)slba, blocks),
        };
    }

    /// <summary>
    /// Whether the host buffer carries metadata: always when the format has metadata, except
    /// PRACT=1 with MS equal to the PI size, where the host sends and receives data only, for
    /// extended-LBA buffers too (PI.md §5 PRACT matrix).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool HostCarriesMetadata(EmulatedNamespace ns, bool pract)
        => ns.MetadataSize != 0 && !(pract && ns.Protection is { } pi && ns.MetadataSize == pi.TupleSize);

    /// <summary>Resolves the data pointer (and MPTR for separate metadata) of a command moving <paramref name="blocks"/> blocks.</summary>
    private NvmeStatus MapHostBuffers(EmulatedNamespace ns, ref SubmissionEntry c, int blocks, bool withMetadata, out byte* metadataHost)
    {
        metadataHost = null;
        int dataBytes = blocks * ns.BlockSize;
        int metadataBytes = withMetadata ? blocks * ns.MetadataSize : 0;
        bool interleaved = withMetadata && ns.ExtendedLba;
        int hostBytes = interleaved ? dataBytes + metadataBytes : dataBytes;
        // MDTS counts interleaved metadata; separate metadata travels outside it (NVMe Base §5.17.2.1).
        if (hostBytes > _maxTransfer)
            return NvmeStatus.InvalidField;
        var status = _prp.Resolve(c.Prp1, c.Prp2, hostBytes, _core.Registers.PageSize);
        if (!status.IsSuccess)
            return status;
        if (withMetadata && !interleaved)
        {
            if ((c.MetadataPointer & 3) != 0)
                return NvmeStatus.InvalidField;
            // MPTR with PRPs: one physically contiguous buffer (NVMe Base §4.1.2).
            metadataHost = (byte*)_core.Dma.Translate(c.MetadataPointer, (ulong)metadataBytes);
            if (metadataHost == null)
                return NvmeStatus.DataTransferError;
        }
        return NvmeStatus.Success;
    }

    /// <summary>Copies the host's blocks into <paramref name="data"/>/<paramref name="metadata"/> (separate layout).</summary>
    private void GatherFromHost(EmulatedNamespace ns, int blocks, bool withMetadata, byte* metadataHost, Span<byte> data, Span<byte> metadata)
    {
        int bs = ns.BlockSize, ms = ns.MetadataSize;
        if (withMetadata && ns.ExtendedLba)
        {
            Span<byte> raw = _transfer.AsSpan(0, blocks * (bs + ms));
            _prp.CopyFromHost(raw);
            for (int b = 0; b < blocks; b++)
            {
                raw.Slice(b * (bs + ms), bs).CopyTo(data.Slice(b * bs));
                raw.Slice(b * (bs + ms) + bs, ms).CopyTo(metadata.Slice(b * ms));
            }
            return;
        }
        _prp.CopyFromHost(data[..(blocks * bs)]);
        if (withMetadata)
            new ReadOnlySpan<byte>(metadataHost, blocks * ms).CopyTo(metadata);
    }

    /// <summary>Copies blocks from <paramref name="data"/>/<paramref name="metadata"/> into the host's buffers.</summary>
    private void ScatterToHost(EmulatedNamespace ns, int blocks, bool withMetadata, byte* metadataHost, ReadOnlySpan<byte> data, ReadOnlySpan<byte> metadata)
    {
        int bs = ns.BlockSize, ms = ns.MetadataSize;
        if (withMetadata && ns.ExtendedLba)
        {
            Span<byte> raw = _transfer.AsSpan(0, blocks * (bs + ms));
            for (int b = 0; b < blocks; b++)
            {
                data.Slice(b * bs, bs).CopyTo(raw.Slice(b * (bs + ms)));
                metadata.Slice(b * ms, ms).CopyTo(raw.Slice(b * (bs + ms) + bs));
            }
            _prp.CopyToHost(raw);
            return;
        }
        _prp.CopyToHost(data[..(blocks * bs)]);
        if (withMetadata)
            metadata[..(blocks * ms)].CopyTo(new Span<byte>(metadataHost, blocks * ms));
    }

    private NvmeStatus Read(EmulatedNamespace ns, ref SubmissionEntry c, long slba, int blocks)
    {
        bool pract = ns.Protection is not null && (c.Cdw12 & CommandFields.Pract) != 0;
        bool withMetadata = HostCarriesMetadata(ns, pract);
        var status = BeginTransfer(ns, ref c, slba, blocks, withMetadata, generating: false, out ProtectionContext context, out byte* metadataHost);
        if (!status.IsSuccess)
            return status;

        Span<byte> data = _data.AsSpan(0, blocks * ns.BlockSize);
        Span<byte> metadata = _metadata.AsSpan(0, blocks * ns.MetadataSize);
        ns.Read(slba, blocks, data, metadata);
        if (context.Checks != PiChecks.None && !context.Verify(data, metadata, blocks, out PiError error))
            return Fail(slba, error);
        // PRACT=1 with MS == PI size: the PI is stripped (simply not transferred).
        ScatterToHost(ns, blocks, withMetadata, metadataHost, data, metadata);
        _core.Logs.HostReadCommands++;
        _core.Logs.CountRead(data.Length);
        return NvmeStatus.Success;
    }

    private NvmeStatus Write(EmulatedNamespace ns, ref SubmissionEntry c, long slba, int blocks)
    {
        var pi = ns.Protection;
        bool pract = pi is not null && (c.Cdw12 & CommandFields.Pract) != 0;
        bool withMetadata = HostCarriesMetadata(ns, pract);
        var status = BeginTransfer(ns, ref c, slba, blocks, withMetadata, generating: pract, out ProtectionContext context, out byte* metadataHost);
        if (!status.IsSuccess)
            return status;

        Span<byte> data = _data.AsSpan(0, blocks * ns.BlockSize);
        Span<byte> metadata = _metadata.AsSpan(0, blocks * ns.MetadataSize);
        GatherFromHost(ns, blocks, withMetadata, metadataHost, data, metadata);
        if (pi is not null)
        {
            if (pract)
            {
                // PRACT=1: the controller inserts PI; PRCHK/STC are ignored (PI.md §5). With
                // MS == PI size nothing came from the host, so the metadata starts out zeroed.
                if (!withMetadata)
                    metadata.Clear();
                context.Generate(data, metadata, blocks);
            }
            else if (context.Checks != PiChecks.None && !context.Verify(data, metadata, blocks, out PiError error))
                return Fail(slba, error);   // checked before anything is stored
        }
        ns.Write(slba, blocks, data, metadata);
        _core.Logs.HostWriteCommands++;
        _core.Logs.CountWritten(data.Length);
        return NvmeStatus.Success;
    }

    /// <summary>Compare (NVM CS 1.0 §3.2.2): PRACT must be 0; metadata is compared without its PI (PI.md §4).</summary>
    private NvmeStatus Compare(EmulatedNamespace ns, ref SubmissionEntry c, long slba, int blocks)
    {
        var pi = ns.Protection;
        if (pi is not null && (c.Cdw12 & CommandFields.Pract) != 0)
            return NvmeStatus.InvalidField;
        bool withMetadata = ns.MetadataSize != 0;
        var status = BeginTransfer(ns, ref c, slba, blocks, withMetadata, generating: false, out ProtectionContext context, out byte* metadataHost);
        if (!status.IsSuccess)
            return status;

        int bs = ns.BlockSize, ms = ns.MetadataSize;
        Span<byte> hostData = _compareData.AsSpan(0, blocks * bs);
        Span<byte> hostMetadata = _compareMetadata.AsSpan(0, blocks * ms);
        GatherFromHost(ns, blocks, withMetadata, metadataHost, hostData, hostMetadata);
        Span<byte> data = _data.AsSpan(0, blocks * bs);
        Span<byte> metadata = _metadata.AsSpan(0, blocks * ms);
        ns.Read(slba, blocks, data, metadata);
        if (context.Checks != PiChecks.None && !context.Verify(data, metadata, blocks, out PiError error))
            return Fail(slba, error);
        _core.Logs.HostReadCommands++;
        _core.Logs.CountRead(data.Length);

        if (!hostData.SequenceEqual(data))
            return NvmeStatus.CompareFailure;
        if (ms != 0)
        {
            int tupleStart = pi?.TupleOffset ?? ms, tupleEnd = pi is null ? ms : pi.TupleOffset + pi.TupleSize;
            for (int b = 0; b < blocks; b++)
            {
                var stored = metadata.Slice(b * ms, ms);
                var given = hostMetadata.Slice(b * ms, ms);
                if (!stored[..tupleStart].SequenceEqual(given[..tupleStart]) || !stored[tupleEnd..].SequenceEqual(given[tupleEnd..]))
                    return NvmeStatus.CompareFailure;
            }
        }
        return NvmeStatus.Success;
    }

    /// <summary>
    /// The common start of Read, Write and Compare: the command's PI fields (PRINFO, STC, tags;
    /// Invalid PI for a type 1 ILBRT that is not the LBA), then the host buffers (PRPs, MPTR).
    /// </summary>
    private NvmeStatus BeginTransfer(EmulatedNamespace ns, ref SubmissionEntry c, long slba, int blocks, bool withMetadata,
        bool generating, out ProtectionContext context, out byte* metadataHost)
    {
        context = default;
        metadataHost = null;
        if (ns.Protection is { } pi)
        {
            var piStatus = ProtectionChecks.Prepare(pi, ns.Options.StorageTagMask, ref c, (ulong)slba, generating, out context);
            if (!piStatus.IsSuccess)
                return piStatus;
        }
        return MapHostBuffers(ns, ref c, blocks, withMetadata, out metadataHost);
    }

    private NvmeStatus Fail(long slba, in PiError error)
    {
        LastErrorLba = (ulong)(slba + error.BlockIndex);
        return ProtectionChecks.ToStatus(error.Kind);
    }
}
