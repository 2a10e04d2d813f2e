using PolledNvme.Driver.Spec;
using PolledNvme.Emulation.Media;

namespace PolledNvme.Emulation;

/// <summary>
/// What orders commands on the media path against each other, and only that:
/// <list type="bullet">
/// <item>block atomicity (Identify AWUN/NAWUN 0: one block): a command waits while a command
/// whose LBA range overlaps its own is in flight and one of the two writes, so a read never sees
/// a block's new PI over its old data, nor two writes mix;</item>
/// <item>Flush: its fdatasync starts when every write issued before it has ended (writes carry
/// increasing tickets, a Flush the last one issued); later writes do not hold it up;</item>
/// <item>Write Zeroes and Dataset Management run, synchronously, once nothing is in flight on
/// their namespace.</item>
/// </list>
/// Commands that touch other blocks run side by side and complete in any order.
/// </summary>
internal sealed partial class AsyncMedia
{
    /// <summary>Puts a command in the Active state (its media I/O is about to start).</summary>
    private void Activate(MediaCommand m)
    {
        m.State = MediaCommandState.Active;
        m.ActiveSlot = _active;
        _activeList[_active++] = m;
    }

    /// <summary>Takes a command out of the Active state (its media I/O has ended).</summary>
    private void Deactivate(MediaCommand m)
    {
        var last = _activeList[--_active];
        _activeList[m.ActiveSlot] = last;
        last.ActiveSlot = m.ActiveSlot;
        _activeList[_active] = null!;
        m.ActiveSlot = -1;
    }

    /// <summary>Whether a command in flight overlaps <paramref name="m"/>'s blocks, one of the two writing.</summary>
    private bool Overlaps(MediaCommand m)
    {
        var ns = m.Block.Ns;
        long start = m.Block.Slba, end = start + m.Block.Blocks;
        bool writes = m.IsWrite;
        for (int i = 0; i < _active; i++)
        {
            var other = _activeList[i];
            if (other.Block.Ns == ns && (writes || other.IsWrite) && other.Block.Opcode != NvmOpcode.Flush
                && other.Block.Slba < end && start < other.Block.Slba + other.Block.Blocks)
                return true;
        }
        return false;
    }

    /// <summary>Whether any command of <paramref name="ns"/> is in flight (a Flush aside).</summary>
    private bool HasActiveOn(EmulatedNamespace ns)
    {
        for (int i = 0; i < _active; i++)
            if (_activeList[i].Block.Ns == ns && _activeList[i].Block.Opcode != NvmOpcode.Flush)
                return true;
        return false;
    }

    /// <summary>The next write's ticket (a Flush orders itself after every write with a ticket up to its barrier).</summary>
    public long NextTicket() => ++_nextTicket;

    /// <summary>Whether Flush <paramref name="flush"/> covers <paramref name="ns"/> (its NSID, or all).</summary>
    private static bool Covers(MediaCommand flush, EmulatedNamespace ns)
        => flush.Entry.NamespaceId == 0xFFFF_FFFF || flush.Entry.NamespaceId == ns.Id;

    /// <summary>
    /// Starts a Flush: reserves ring room for the fdatasync of each file it covers, and counts the
    /// writes issued before it that are still in flight (their tickets are at most its barrier);
    /// with none, the fdatasyncs go at once. False when the ring has no room now.
    /// </summary>
    private bool TryStartFlush(MediaCommand m)
    {
        int files = 0;
        foreach (var ns in _core.Namespaces)
            if (ns.AsyncFile is not null && Covers(m, ns))
                files++;
        if (!TryReserveSlots(m, files))
            return false;
        m.Block.Ns = null!;   // set to the file that fails, if one does
        Activate(m);
        m.FlushBarrier = _nextTicket;
        for (int i = 0; i < _active; i++)
        {
            var other = _activeList[i];
            if (other.IsWrite && other.Ticket != 0 && other.Ticket <= m.FlushBarrier && Covers(m, other.Block.Ns))
                m.FlushWaits++;
        }
        if (m.FlushWaits == 0)
            IssueFlush(m);
        else
        {
            m.Next = _flushes;
            _flushes = m;
        }
        return true;
    }

    /// <summary>A write ended: the Flushes issued after it wait for one write less, and those that wait for none start.</summary>
    private void WriteEnded(MediaCommand write)
    {
        MediaCommand? previous = null;
        for (var f = _flushes; f is not null;)
        {
            var next = f.Next;
            if (write.Ticket <= f.FlushBarrier && Covers(f, write.Block.Ns) && --f.FlushWaits == 0)
            {
                if (previous is null)
                    _flushes = next;
                else
                    previous.Next = next;
                f.Next = null;
                IssueFlush(f);
            }
            else
                previous = f;
            f = next;
        }
    }

    /// <summary>Runs a Write Zeroes or Dataset Management now (nothing on its namespace is in flight) and completes it.</summary>
    private void RunMaintenance(MediaCommand m)
    {
        NvmeStatus status;
        string? detail = null;
        ulong lba;
        try
        {
            status = _io.RunMaintenance(ref m.Entry, m.Block.Ns);
            lba = _io.LastErrorLba;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // As for any command: the file failed (disk full, I/O error); the device lives on.
            status = MediaErrorStatus.Of(e, admin: false);
            detail = e.Message;
            lba = e is MediaIoException { Operation: MediaOperation.Write or MediaOperation.Zero } media ? m.Block.Ns.LbaAt(media.Offset) : 0;
        }
        Finish(m, status, lba, detail);
    }
}
