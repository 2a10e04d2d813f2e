using System.Runtime.CompilerServices;
using PolledNvme.Driver.Spec;
using PolledNvme.Protection;
using PolledNvme.Queues;

namespace PolledNvme.Emulation;

/// <summary>A Read, Write, Compare or Verify decoded and checked: everything its data path needs.</summary>
internal unsafe struct BlockCommand
{
    public EmulatedNamespace Ns;
    public NvmOpcode Opcode;
    public long Slba;
    public int Blocks;
    /// <summary>How the blocks lie in the host's buffers (Verify: no transfer).</summary>
    public HostLayout Layout;
    /// <summary>The PI of the command (default without PI).</summary>
    public ProtectionContext Context;
    /// <summary>Writes: what happens to the PI on the way to the media.</summary>
    public WriteAction Action;
    /// <summary>Force Unit Access (writes): durable before the completion.</summary>
    public bool Fua;
    /// <summary>Separate metadata in host memory (MPTR), or null.</summary>
    public byte* HostMetadata;

    /// <summary>Bytes the host's data pointer describes.</summary>
    public readonly int HostBytes => Blocks * Layout.HostBlockBytes;
}

/// <summary>
/// The NVM command set I/O commands (NVM CS 1.0 §3): decoding and checking every command, and
/// the synchronous path of Read, Write, Compare and Verify (RAM and null media, and files when
/// io_uring is unavailable); the asynchronous file path is in IoCommands.Media.cs, Flush, Write
/// Zeroes and Dataset Management in IoCommands.Maintenance.cs. Data moves between the host's
/// buffers and the media layout in one pass (<see cref="HostBlockTransfer"/>): straight into
/// and out of RAM media, or through one media buffer. Every check that can fail before the
/// media is touched runs first. Buffers are allocated once; nothing is allocated per command.
/// </summary>
internal sealed unsafe partial class IoCommands
{
    private const uint AllNamespaces = 0xFFFF_FFFF;
    private readonly ControllerCore _core;
    private readonly PrpTransfer _prp;
    private readonly HostBlockTransfer _host = new();
    private readonly int _maxTransfer;
    private readonly byte[] _data;              // the synchronous path's media buffer: block data
    private readonly byte[] _metadata;          // ... and metadata

    public IoCommands(ControllerCore core)
    {
        _core = core;
        _maxTransfer = core.MaxTransferBytes;
        _prp = new PrpTransfer(core.Dma, _maxTransfer);
        // At most maxTransfer/512 blocks per command, each with at most 64 bytes of metadata.
        _data = GC.AllocateUninitializedArray<byte>(_maxTransfer, pinned: true);
        _metadata = GC.AllocateUninitializedArray<byte>(_maxTransfer / 512 * 64, pinned: true);
    }

    /// <summary>LBA of the last error, for the Error Information log (0 when none applies).</summary>
    public ulong LastErrorLba { get; private set; }

    /// <summary>
    /// Executes one I/O command; <paramref name="result"/> is CQE DW0. Returns
    /// <see cref="AsyncMedia.Accepted"/> when the command went to the asynchronous media path,
    /// which completes it later.
    /// </summary>
    public NvmeStatus Execute(ref SubmissionEntry c, EmulatedSubmissionQueue sq, out uint result)
    {
        result = 0;
        LastErrorLba = 0;
        var opcode = (NvmOpcode)c.Opcode;
        if ((c.Flags & 0xC3) == 0)
        {
            if (opcode == NvmOpcode.Flush)
                return Flush(ref c, sq);
            if (opcode == NvmOpcode.DatasetManagement || opcode == NvmOpcode.WriteZeroes)
                return Maintenance(ref c, sq);
        }
        var status = Decode(ref c, out BlockCommand b);
        if (!status.IsSuccess)
            return status;
        if (b.Ns.AsyncFile is not null && _core.Media is { } media)
            return media.Accept(ref c, sq, in b);
        return b.Opcode switch
        {
            NvmOpcode.Read => Read(in b),
            NvmOpcode.Write => Write(in b),
            NvmOpcode.Compare => Compare(in b),
            _ => Verify(in b),
        };
    }

    /// <summary>
    /// Decodes and checks a Read, Write, Compare or Verify (and the common rules of every I/O
    /// command): flags, opcode, namespace, write protection, LBA range, PI fields, then the host
    /// buffers (PRPs, MPTR), which stay resolved in the PRP walker for the data path.
    /// </summary>
    public NvmeStatus Decode(ref SubmissionEntry c, out BlockCommand b)
    {
        b = default;
        if ((c.Flags & 0xC3) != 0)
            return NvmeStatus.InvalidField;   // fused operations and SGLs are not supported (PSDT must be 00b)
        var opcode = (NvmOpcode)c.Opcode;
        if (opcode is not (NvmOpcode.Read or NvmOpcode.Write or NvmOpcode.Compare or NvmOpcode.Verify))
            return NvmeStatus.InvalidCommandOpcode;
        var status = CheckNamespace(ref c, out EmulatedNamespace? ns);
        if (!status.IsSuccess)
            return status;
        status = CheckRange(ref c, ns!, out long slba, out int blocks);
        if (!status.IsSuccess)
            return status;

        var pi = ns!.Protection;
        bool pract = pi is not null && (c.Cdw12 & CommandFields.Pract) != 0;
        if (opcode == NvmOpcode.Compare && pract)
            return NvmeStatus.InvalidField;   // Compare: PRACT must be 0 (NVM CS 1.0 §3.2.2)
        b.Ns = ns;
        b.Opcode = opcode;
        b.Slba = slba;
        b.Blocks = blocks;
        b.Fua = opcode == NvmOpcode.Write && (c.Cdw12 & CommandFields.ForceUnitAccess) != 0;
        bool generating = opcode == NvmOpcode.Write && pract;
        if (pi is not null)
        {
            status = ProtectionChecks.Prepare(pi, ns.Options.StorageTagMask, ref c, (ulong)slba, generating, out b.Context);
            if (!status.IsSuccess)
                return status;
            // PRACT=1: the controller inserts PI; PRCHK/STC are ignored on a write (PI.md §5).
            b.Action = generating ? WriteAction.Generate : b.Context.Checks != PiChecks.None ? WriteAction.Verify : WriteAction.Plain;
        }
        if (opcode == NvmOpcode.Verify)
            return NvmeStatus.Success;   // no transfer, no MDTS limit
        bool withMetadata = opcode == NvmOpcode.Compare ? ns.MetadataSize != 0 : HostCarriesMetadata(ns, pract);
        b.Layout = new HostLayout(ns.BlockSize, ns.MetadataSize, withMetadata, withMetadata && ns.ExtendedLba);
        return MapHostBuffers(ref c, ref b);
    }

    /// <summary>NSID, the extended-format rule and write protection of a command with a namespace.</summary>
    private NvmeStatus CheckNamespace(ref SubmissionEntry c, out EmulatedNamespace? ns)
    {
        ns = null;
        uint index = c.NamespaceId - 1;
        var namespaces = _core.Namespaces;
        if (index >= (uint)namespaces.Length)
            return NvmeStatus.InvalidNamespaceOrFormat;
        ns = namespaces[index];
        // Extended formats (32b/64b guard, storage tags) need Host Behavior LBAFEE=1 (PI.md §3).
        if (ns.Format.IsExtended && !_core.Features.LbaFormatExtensionEnabled)
            return NvmeStatus.InvalidNamespaceOrFormat;
        // A write protected namespace (ro=1) refuses every command that would change it (NSATTR bit 0).
        var opcode = (NvmOpcode)c.Opcode;
        if (ns.ReadOnly && (opcode is NvmOpcode.Write or NvmOpcode.WriteZeroes
            || (opcode == NvmOpcode.DatasetManagement && (c.Cdw11 & CommandFields.DsmAttributeDeallocate) != 0)))
            return NvmeStatus.NamespaceWriteProtected;
        return NvmeStatus.Success;
    }

    /// <summary>SLBA and NLB inside the namespace, with overflow-safe bounds.</summary>
    private NvmeStatus CheckRange(ref SubmissionEntry c, EmulatedNamespace ns, out long slba, out int blocks)
    {
        ulong start = c.Cdw10 | ((ulong)c.Cdw11 << 32);
        blocks = (int)(c.Cdw12 & CommandFields.NlbMask) + 1;
        slba = (long)start;
        if (start > (ulong)ns.BlockCount || (ulong)blocks > (ulong)ns.BlockCount - start)
        {
            LastErrorLba = start;
            return NvmeStatus.LbaOutOfRange;
        }
        return NvmeStatus.Success;
    }

    /// <summary>
    /// Whether the host buffer carries metadata: always when the format has metadata, except
    /// PRACT=1 with MS equal to the PI size, where the host sends and receives data only, for
    /// extended-LBA buffers too (PI.md §5 PRACT matrix).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool HostCarriesMetadata(EmulatedNamespace ns, bool pract)
        => ns.MetadataSize != 0 && !(pract && ns.Protection is { } pi && ns.MetadataSize == pi.TupleSize);

    /// <summary>
    /// Resolves the data pointer (and MPTR for separate metadata) of a decoded command into the
    /// PRP walker: at decode, and again when an asynchronous read's media I/O has ended (the
    /// mappings are looked up when the bytes move, as an IOMMU would).
    /// </summary>
    public NvmeStatus MapHostBuffers(ref SubmissionEntry c, ref BlockCommand b)
    {
        b.HostMetadata = null;
        int hostBytes = b.HostBytes;
        // MDTS counts interleaved metadata; separate metadata travels outside it (NVMe Base §5.17.2.1).
        if (hostBytes > _maxTransfer)
            return NvmeStatus.InvalidField;
        var status = _prp.Resolve(c.Prp1, c.Prp2, hostBytes, _core.Registers.PageSize);
        if (!status.IsSuccess)
            return status;
        if (b.Layout.HostMetadata && !b.Layout.Interleaved)
        {
            if ((c.MetadataPointer & 3) != 0)
                return NvmeStatus.InvalidField;
            // MPTR with PRPs: one physically contiguous buffer (NVMe Base §4.1.2).
            b.HostMetadata = (byte*)_core.Dma.Translate(c.MetadataPointer, (ulong)b.Blocks * (ulong)b.Layout.MetadataSize);
            if (b.HostMetadata == null)
                return NvmeStatus.DataTransferError;
        }
        return NvmeStatus.Success;
    }

    /// <summary>The synchronous path's media buffer for <paramref name="blocks"/> blocks of <paramref name="ns"/>.</summary>
    private void Scratch(EmulatedNamespace ns, int blocks, out Span<byte> data, out Span<byte> metadata)
    {
        data = _data.AsSpan(0, blocks * ns.BlockSize);
        metadata = _metadata.AsSpan(0, blocks * ns.MetadataSize);
    }

    private NvmeStatus Read(in BlockCommand b)
    {
        var ns = b.Ns;
        // RAM media is read in place; anything else into the media buffer first.
        if (!ns.TryGetMediaView(b.Slba, b.Blocks, out Span<byte> data, out Span<byte> metadata))
        {
            Scratch(ns, b.Blocks, out data, out metadata);
            ns.Read(b.Slba, b.Blocks, data, metadata);
        }
        return FinishRead(in b, data, metadata);
    }

    /// <summary>The end of every Read: the PI pass into the host's buffers, the counters.</summary>
    private NvmeStatus FinishRead(in BlockCommand b, ReadOnlySpan<byte> data, ReadOnlySpan<byte> metadata)
    {
        if (!_host.FromMedia(_prp, b.HostMetadata, b.Layout, b.Context, data, metadata, b.Blocks, out PiError error))
            return Fail(b.Slba, error);
        _core.Logs.HostReadCommands++;
        _core.Logs.CountRead((long)b.Blocks * b.Ns.BlockSize);
        return NvmeStatus.Success;
    }

    private NvmeStatus Write(in BlockCommand b)
    {
        var ns = b.Ns;
        // RAM media is written in place when nothing can fail on the way; a checked write goes
        // through the media buffer, since a failed check stores nothing.
        if (b.Action != WriteAction.Verify && ns.TryGetMediaView(b.Slba, b.Blocks, out Span<byte> data, out Span<byte> metadata))
        {
            _host.ToMedia(_prp, b.HostMetadata, b.Layout, b.Context, b.Action, data, metadata, b.Blocks, out _);
        }
        else
        {
            Scratch(ns, b.Blocks, out data, out metadata);
            if (!_host.ToMedia(_prp, b.HostMetadata, b.Layout, b.Context, b.Action, data, metadata, b.Blocks, out PiError error))
                return Fail(b.Slba, error);
            ns.Write(b.Slba, b.Blocks, data, metadata);
            if (b.Fua)
                ns.Flush();
        }
        CountWrite(in b);
        return NvmeStatus.Success;
    }

    private void CountWrite(in BlockCommand b)
    {
        _core.Logs.HostWriteCommands++;
        _core.Logs.CountWritten((long)b.Blocks * b.Ns.BlockSize);
    }

    /// <summary>Compare (NVM CS 1.0 §3.2.2): PRACT must be 0; metadata is compared without its PI (PI.md §4).</summary>
    private NvmeStatus Compare(in BlockCommand b)
    {
        var ns = b.Ns;
        if (!ns.TryGetMediaView(b.Slba, b.Blocks, out Span<byte> data, out Span<byte> metadata))
        {
            Scratch(ns, b.Blocks, out data, out metadata);
            ns.Read(b.Slba, b.Blocks, data, metadata);
        }
        return FinishCompare(in b, data, metadata);
    }

    /// <summary>The end of every Compare: the PI checks and the comparison, in one pass over the stored and the host's blocks.</summary>
    private NvmeStatus FinishCompare(in BlockCommand b, ReadOnlySpan<byte> data, ReadOnlySpan<byte> metadata)
    {
        bool equal = _host.Compare(_prp, b.HostMetadata, b.Layout, b.Context, b.Ns.Protection, data, metadata, b.Blocks, out bool piFailed, out PiError error);
        if (piFailed)
            return Fail(b.Slba, error);
        _core.Logs.HostReadCommands++;
        _core.Logs.CountRead((long)b.Blocks * b.Ns.BlockSize);
        return equal ? NvmeStatus.Success : NvmeStatus.CompareFailure;
    }

    /// <summary>Verify (NVM CS 1.0 §3.2.9): reads and checks PI per PRCHK/STC without transferring data, in chunks of MDTS.</summary>
    private NvmeStatus Verify(in BlockCommand b)
    {
        var ns = b.Ns;
        int chunk = ChunkBlocks(ns);
        for (int done = 0; done < b.Blocks; done += chunk)
        {
            int n = Math.Min(chunk, b.Blocks - done);
            if (!ns.TryGetMediaView(b.Slba + done, n, out Span<byte> data, out Span<byte> metadata))
            {
                Scratch(ns, n, out data, out metadata);
                ns.Read(b.Slba + done, n, data, metadata);
            }
            var status = VerifyChunk(in b, done, n, data, metadata);
            if (!status.IsSuccess)
                return status;
        }
        return NvmeStatus.Success;
    }

    /// <summary>Checks the <paramref name="n"/> blocks of a Verify that start <paramref name="done"/> blocks in.</summary>
    private NvmeStatus VerifyChunk(in BlockCommand b, int done, int n, ReadOnlySpan<byte> data, ReadOnlySpan<byte> metadata)
        => b.Context.Checks != PiChecks.None && !HostBlockTransfer.At(b.Context, done).Verify(data, metadata, n, out PiError error)
            ? Fail(b.Slba + done, error)
            : NvmeStatus.Success;

    /// <summary>Blocks per internal chunk for commands that are not bounded by MDTS.</summary>
    private int ChunkBlocks(EmulatedNamespace ns) => _maxTransfer / ns.BlockSize;

    private NvmeStatus Fail(long slba, in PiError error)
    {
        LastErrorLba = (ulong)(slba + error.BlockIndex);
        return ProtectionChecks.ToStatus(error.Kind);
    }
}
