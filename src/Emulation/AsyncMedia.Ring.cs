using PolledNvme.Driver.Spec;
using PolledNvme.Emulation.Media;
using PolledNvme.Uring;

namespace PolledNvme.Emulation;

/// <summary>
/// The media I/O of a command in the ring: a media buffer for its transfer, the operations
/// (metadata and data, a write's metadata linked before its data), their completions — short
/// transfers resumed, failures kept with errno and offset — and the command's completion.
/// </summary>
internal sealed unsafe partial class AsyncMedia
{
    // An operation's user data: bit 0 = the metadata part (0: the data part, or a Flush's
    // fdatasync), bits 1-39 = the command's index in the pool, bits 40+ = a Flush's namespace index.
    private const ulong MetadataPartBit = 1;
    private const int NamespaceShift = 40;
    private const ulong IndexMask = (1UL << NamespaceShift) - 1;

    /// <summary>
    /// Reserves what the command's media I/O needs: a media buffer for its blocks (data pages,
    /// then the metadata; <see cref="BufferBlocks"/>) and room for two operations in the ring.
    /// False, with nothing taken, when either is not free now.
    /// </summary>
    public bool TryReserve(MediaCommand m)
    {
        var ns = m.Block.Ns;
        int blocks = BufferBlocks(m.Block, _core.MaxTransferBytes);
        int pages = MediaBufferArena.PagesFor((long)blocks * ns.BlockSize) + MediaBufferArena.PagesFor((long)blocks * ns.MetadataSize);
        if (!_arena!.TryAllocate(pages, out int first))
            return false;
        if (!TryReserveSlots(m, 2))
        {
            _arena.Free(first, pages);
            return false;   // its completions could not be held: wait for commands to end
        }
        m.FirstPage = first;
        m.Pages = pages;
        Activate(m);
        return true;
    }

    /// <summary>The data pages of the command's media buffer, for <paramref name="blocks"/> blocks.</summary>
    public Span<byte> DataSpan(MediaCommand m, int blocks) => new(_arena!.PageAddress(m.FirstPage), blocks * m.Block.Ns.BlockSize);

    /// <summary>The metadata of the command's media buffer (after its data pages), for <paramref name="blocks"/> blocks.</summary>
    public Span<byte> MetadataSpan(MediaCommand m, int blocks) => new(MetadataAddress(m), blocks * m.Block.Ns.MetadataSize);

    private byte* MetadataAddress(MediaCommand m)
        => _arena!.PageAddress(m.FirstPage + MediaBufferArena.PagesFor((long)BufferBlocks(m.Block, _core.MaxTransferBytes) * m.Block.Ns.BlockSize));

    /// <summary>Blocks a command's media buffer holds: all of them, or for a Verify (not bounded by MDTS) one chunk of MDTS, reused chunk after chunk.</summary>
    public static int BufferBlocks(in BlockCommand b, int maxTransferBytes)
        => b.Opcode == NvmOpcode.Verify ? Math.Min(b.Blocks, maxTransferBytes / b.Ns.BlockSize) : b.Blocks;

    /// <summary>Describes the next media transfer: <paramref name="blocks"/> blocks from <paramref name="firstBlock"/> blocks into the command.</summary>
    public void SetTransfer(MediaCommand m, int firstBlock, int blocks)
    {
        var ns = m.Block.Ns;
        long lba = m.Block.Slba + firstBlock;
        m.ChunkStart = firstBlock;
        m.ChunkBlocks = blocks;
        m.Data = new MediaPart { Offset = ns.DataOffset(lba), Length = blocks * ns.BlockSize, Buffer = _arena!.PageAddress(m.FirstPage) };
        m.Metadata = ns.MetadataSize == 0
            ? default
            : new MediaPart { Offset = ns.MetadataOffset(lba), Length = blocks * ns.MetadataSize, Buffer = MetadataAddress(m) };
    }

    /// <summary>
    /// Puts the parts of the current transfer that are not complete into the ring: a read's
    /// metadata and data side by side; a write's metadata first, linked (IOSQE_IO_LINK) to its
    /// data, so the data write starts only after the metadata write completed in full — the
    /// crash-safety order (docs/EMULATED-CONTROLLER.md, "Crash safety"). Injected faults fail an
    /// operation before it is prepared, as the file system would.
    /// </summary>
    public void Issue(MediaCommand m)
    {
        var file = m.Block.Ns.AsyncFile!;
        bool write = m.IsWrite;
        bool metadataNeeded = m.Metadata.Used && !m.Metadata.Complete;
        bool dataNeeded = m.Data.Used && !m.Data.Complete;
        if (metadataNeeded && !write && file.Mirror is { } mirror)
        {
            // The metadata of a read comes from memory: no operation (no overlapping write is in flight).
            mirror.At(m.Metadata.Offset, m.Metadata.Length).CopyTo(new Span<byte>(m.Metadata.Buffer, m.Metadata.Length));
            m.Metadata.Done = m.Metadata.Length;
            metadataNeeded = false;
        }
        var operation = write ? MediaOperation.Write : MediaOperation.Read;
        int metadataFault = metadataNeeded ? Inject(file, operation, m.Metadata) : 0;
        int dataFault = dataNeeded ? Inject(file, operation, m.Data) : 0;
        EnsureRoom(2);
        BeginChain();
        if (metadataNeeded)
        {
            if (metadataFault != 0)
            {
                m.Fail(operation, metadataFault, m.Metadata.Offset + m.Metadata.Done, m.Metadata.Length - m.Metadata.Done);
                if (write)
                    dataNeeded = false;   // its data write would have been cancelled with it
            }
            else
                Prepare(m, ref m.Metadata, metadata: true, write, link: write && dataNeeded && dataFault == 0);
        }
        if (dataNeeded)
        {
            if (dataFault != 0)
                m.Fail(operation, dataFault, m.Data.Offset + m.Data.Done, m.Data.Length - m.Data.Done);
            else
                Prepare(m, ref m.Data, metadata: false, write, link: false);
        }
        if (m.Metadata.InFlight == 0 && m.Data.InFlight == 0)
            StepEnded(m);   // every operation failed before it started
        else if (_directPrepared >= DirectSubmitBatch && !HoldSubmissions)
            SubmitNow();   // after the command's last operation: a link never spans two submissions
    }

    private static int Inject(UringFileBackend file, MediaOperation operation, in MediaPart part)
        => file.InjectedFault is { } inject ? inject(operation, part.Offset + part.Done) : 0;

    /// <summary>
    /// Makes room for <paramref name="operations"/> SQEs: what is prepared goes to the kernel first
    /// when the SQ is full (completion room was reserved when the command started).
    /// </summary>
    private void EnsureRoom(int operations)
    {
        if (_ring.Capacity >= operations)
            return;
        _ring.Submit();
        if (_ring.Capacity < operations)
            throw new InvalidOperationException($"the media ring has no room for {operations} operations ({_ring.InFlight} in flight of {_ring.CqEntries}).");
    }

    private void Prepare(MediaCommand m, ref MediaPart part, bool metadata, bool write, bool link)
    {
        var (buffered, direct) = _files[m.Block.Ns.Id - 1];
        long offset = part.Offset + part.Done;
        int length = part.Length - part.Done;
        byte* buffer = part.Buffer + part.Done;
        // O_DIRECT for block data whose offset, length and buffer are page aligned; the page cache for the rest.
        int file = !metadata && direct >= 0 && ((offset | (uint)length | (long)buffer) & (MediaBufferArena.PageSize - 1)) == 0 ? direct : buffered;
        ulong userData = ((ulong)m.Index << 1) | (metadata ? MetadataPartBit : 0);
        if (_chainBroken)
        {
            CancelInline(ref part, userData);
            return;
        }
        if (GoesInline(m, write, file == direct))
        {
            WriteInline(m, ref part, userData, link);
            return;
        }
        if (_ring.Unsubmitted == 0)
            _directPrepared = 0;   // the ring was handed over since the last count (whichever path submitted it)
        if (file == direct)
            _directPrepared++;
        ref UringSqe sqe = ref _ring.GetSqe();
        if (_fixedBuffers)
        {
            if (write)
                sqe.PrepareWriteFixed(file, (nint)buffer, (uint)length, (ulong)offset, 0, userData, fixedFile: true);
            else
                sqe.PrepareReadFixed(file, (nint)buffer, (uint)length, (ulong)offset, 0, userData, fixedFile: true);
        }
        else if (write)
            sqe.PrepareWrite(file, (nint)buffer, (uint)length, (ulong)offset, userData, fixedFile: true);
        else
            sqe.PrepareRead(file, (nint)buffer, (uint)length, (ulong)offset, userData, fixedFile: true);
        if (write && m.Block.Fua)
        {
            sqe.SetRwFlags(UringRwFlags.DataSync);   // Force Unit Access: durable when it completes
            DurableWrites++;
        }
        if (link)
            sqe.LinkNext();
        part.InFlight++;
    }

    /// <summary>The fdatasync of every file a Flush covers (its earlier writes have all ended).</summary>
    private void IssueFlush(MediaCommand m)
    {
        var namespaces = _core.Namespaces;
        for (int i = 0; i < namespaces.Length; i++)
        {
            if (namespaces[i].AsyncFile is not { } file || !Covers(m, namespaces[i]))
                continue;
            int fault = file.InjectedFault?.Invoke(MediaOperation.Flush, 0) ?? 0;
            if (fault != 0)
            {
                FlushFailed(m, namespaces[i], fault);
                continue;
            }
            EnsureRoom(1);
            ref UringSqe sqe = ref _ring.GetSqe();
            sqe.PrepareFsync(_files[i].Buffered, dataOnly: true, ((ulong)i << NamespaceShift) | ((ulong)m.Index << 1), fixedFile: true);
            m.Data.InFlight++;
        }
        if (m.Data.InFlight == 0)
            StepEnded(m);
    }

    /// <summary>A Flush's fdatasync of <paramref name="ns"/> failed: the first failure names its file.</summary>
    private static void FlushFailed(MediaCommand m, EmulatedNamespace ns, int errno)
    {
        if (m.Failed)
            return;
        m.Block.Ns = ns;
        m.Fail(MediaOperation.Flush, errno, 0, 0);
    }

    /// <summary>Takes every ready completion and hands each to its command.</summary>
    private int Reap()
    {
        int total = HasInlineDone ? ReapInline() : 0, n;
        while ((n = _ring.ReapBatch(_cqes)) > 0)
        {
            for (int i = 0; i < n; i++)
                OnCompletion(_cqes[i].UserData, _cqes[i].Result);
            total += n;
        }
        return total;
    }

    private void OnCompletion(ulong userData, int result)
    {
        var m = _commands[(int)((userData & IndexMask) >> 1)];
        bool metadata = (userData & MetadataPartBit) != 0;
        ref MediaPart part = ref metadata ? ref m.Metadata : ref m.Data;
        part.InFlight--;
        if (m.Block.Opcode == NvmOpcode.Flush)
        {
            if (result < 0)
                FlushFailed(m, _core.Namespaces[(int)(userData >> NamespaceShift)], -result);
        }
        else if (result < 0)
        {
            // A write's data comes back cancelled when its linked metadata write failed (that failure
            // is the command's) or fell short (both are resubmitted below).
            if (!(result == -Errno.ECANCELED && !metadata && m.IsWrite))
                m.Fail(m.IsWrite ? MediaOperation.Write : MediaOperation.Read, -result, part.Offset + part.Done, part.Length - part.Done);
        }
        else if (result == 0 && !part.Complete)
        {
            if (m.IsWrite)
                m.Fail(MediaOperation.Write, 0, part.Offset + part.Done, part.Length - part.Done);   // a write that moves nothing will not move more
            else
            {
                new Span<byte>(part.Buffer + part.Done, part.Length - part.Done).Clear();   // past the end of the file: zeros
                part.Done = part.Length;
            }
        }
        else
        {
            if (metadata && m.IsWrite && m.Block.Ns.AsyncFile!.Mirror is { } mirror)
                new ReadOnlySpan<byte>(part.Buffer + part.Done, result).CopyTo(mirror.At(part.Offset + part.Done, result));   // what the file took, no more
            part.Done += result;
        }
        if (m.Metadata.InFlight == 0 && m.Data.InFlight == 0)
            StepEnded(m);
    }

    /// <summary>Every operation of the command's transfer has ended: fail it, resume it, or hand it to its command's next step.</summary>
    private void StepEnded(MediaCommand m)
    {
        if (_discarding)
        {
            Finish(m, NvmeStatus.Success, 0);   // reset: nothing of it reaches the host (a write cut short is a tear PI catches)
            return;
        }
        if (m.Failed)
        {
            var failure = new MediaIoException(m.FailedOperation, m.Errno, m.Block.Ns.AsyncFile!.Path, m.FailedOffset, m.FailedLength);
            ulong lba = m.FailedOperation == MediaOperation.Flush ? 0 : m.Block.Ns.LbaAt(m.FailedOffset);
            Finish(m, MediaErrorStatus.Of(failure, admin: false), lba, failure.Message);
            return;
        }
        if (m.Block.Opcode == NvmOpcode.Flush)
        {
            Finish(m, NvmeStatus.Success, 0);
            return;
        }
        if (!m.Metadata.Complete || !m.Data.Complete)
        {
            Issue(m);   // a short transfer, or a data write cancelled behind a short metadata write
            return;
        }
        _io.MediaStepDone(m);
    }

    /// <summary>
    /// Ends a command: gives its buffer back, releases the Flushes that waited for it (a write),
    /// records a failure in the error log, and posts its completion — or drops or delays it when
    /// a fault was injected, or keeps it until its completion queue has room.
    /// </summary>
    public void Finish(MediaCommand m, NvmeStatus status, ulong errorLba, string? detail = null)
    {
        ReleaseBuffer(m);
        _reservedSlots -= m.ReservedSlots;
        m.ReservedSlots = 0;
        if (m.State == MediaCommandState.Active)
            Deactivate(m);
        if (m.IsWrite && m.Ticket != 0 && _flushes is not null)
            WriteEnded(m);
        if (_discarding)
        {
            Release(m);
            return;
        }
        if (!status.IsSuccess)
            _core.Logs.RecordError(m.Sq.Id, m.Entry.CommandId, status, m.Entry.NamespaceId, errorLba, detail);
        if (m.HasCompletionFault)
        {
            if (!m.DropCompletion)
                _core.DeferCompletion(m.DelayCompletion, m.Sq, m.Entry.CommandId, status, m.Result);
            Release(m);
            return;
        }
        var cq = m.Sq.CompletionQueue;
        if (_postingHead is null && !cq.IsFull)
        {
            cq.Post(m.Result, (ushort)m.Sq.Head, m.Sq.Id, m.Entry.CommandId, status);
            Release(m);
            return;
        }
        m.Status = status;
        m.State = MediaCommandState.Posting;
        m.Next = null;
        if (_postingTail is null)
            _postingHead = m;
        else
            _postingTail.Next = m;
        _postingTail = m;
    }

    /// <summary>Posts the completions that waited for queue room, in order, as far as their queues now have room.</summary>
    private int PostWaiting()
    {
        int posted = 0;
        MediaCommand? previous = null;
        for (var m = _postingHead; m is not null;)
        {
            var next = m.Next;
            var cq = m.Sq.CompletionQueue;
            if (!cq.IsFull)
            {
                cq.Post(m.Result, (ushort)m.Sq.Head, m.Sq.Id, m.Entry.CommandId, m.Status);
                if (previous is null)
                    _postingHead = next;
                else
                    previous.Next = next;
                if (_postingTail == m)
                    _postingTail = previous;
                Release(m);
                posted++;
            }
            else
                previous = m;
            m = next;
        }
        return posted;
    }
}
