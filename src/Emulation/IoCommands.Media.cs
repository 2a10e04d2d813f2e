using PolledNvme.Driver.Spec;
using PolledNvme.Protection;

namespace PolledNvme.Emulation;

/// <summary>
/// Read, Write, Compare and Verify on the asynchronous media path (<see cref="AsyncMedia"/>):
/// a write's blocks go from the host into its media buffer (PI generated or checked in the same
/// pass) before its media I/O starts; a read's go from its media buffer to the host (checked on
/// the way) when its media I/O has ended, through host mappings looked up again at that moment.
/// </summary>
internal sealed unsafe partial class IoCommands
{
    /// <summary>
    /// Starts a decoded command's media I/O (its host buffers are resolved in the PRP walker);
    /// false, with nothing done, when no media buffer or ring room is free now. A write whose PI
    /// check fails completes here, having stored nothing.
    /// </summary>
    public bool StartMedia(MediaCommand m)
    {
        var media = _core.Media!;
        if (!media.TryReserve(m))
            return false;
        ref BlockCommand b = ref m.Block;
        LastErrorLba = 0;
        if (b.Opcode == NvmOpcode.Write)
        {
            if (!_host.ToMedia(_prp, b.HostMetadata, b.Layout, b.Context, b.Action, media.DataSpan(m, b.Blocks), media.MetadataSpan(m, b.Blocks),
                b.Blocks, out PiError error))
            {
                media.Finish(m, Fail(b.Slba, error), LastErrorLba);
                return true;
            }
            m.Ticket = media.NextTicket();
        }
        media.SetTransfer(m, 0, AsyncMedia.BufferBlocks(b, _maxTransfer));
        media.Issue(m);
        return true;
    }

    /// <summary>The media I/O of the command's current transfer has ended without a failure: its next step.</summary>
    public void MediaStepDone(MediaCommand m)
    {
        var media = _core.Media!;
        ref BlockCommand b = ref m.Block;
        LastErrorLba = 0;
        NvmeStatus status;
        switch (b.Opcode)
        {
            case NvmOpcode.Write:
                CountWrite(in b);
                status = NvmeStatus.Success;
                break;
            case NvmOpcode.Verify:
                status = VerifyChunk(in b, m.ChunkStart, m.ChunkBlocks, media.DataSpan(m, m.ChunkBlocks), media.MetadataSpan(m, m.ChunkBlocks));
                int next = m.ChunkStart + m.ChunkBlocks;
                if (status.IsSuccess && next < b.Blocks)
                {
                    media.SetTransfer(m, next, Math.Min(m.ChunkBlocks, b.Blocks - next));
                    media.Issue(m);
                    return;
                }
                break;
            default:
                // The host's buffers are looked up again: a host that unmapped them meanwhile gets Data Transfer Error, not a write into freed memory.
                status = MapHostBuffers(ref m.Entry, ref b);
                if (status.IsSuccess)
                    status = b.Opcode == NvmOpcode.Read
                        ? FinishRead(in b, media.DataSpan(m, b.Blocks), media.MetadataSpan(m, b.Blocks))
                        : FinishCompare(in b, media.DataSpan(m, b.Blocks), media.MetadataSpan(m, b.Blocks));
                break;
        }
        media.Finish(m, status, LastErrorLba);
    }
}
