using PolledNvme.Uring;

namespace PolledNvme.Bench.Engines;

/// <summary>
/// One job on io_uring: its own ring (single issuer: the job thread), its own file descriptor
/// registered with the ring, one registered buffer holding every slot. <see cref="Submit"/> only
/// fills an SQE; <see cref="Poll"/> submits the batch in one <c>io_uring_enter</c> and, when
/// nothing is ready, waits in the kernel for one completion (as fio's io_uring engine does).
/// The prepared I/Os are reported issued just before that call (their submission latency ends
/// there; the kernel's submission work counts in their completion latency). Trims punch holes.
/// </summary>
internal sealed unsafe class UringJobEngine : IIoEngine
{
    private readonly UringRing _ring;
    private readonly NativeFile _file;
    private readonly AlignedBuffer _buffers;
    private readonly IIoCompletionSink _sink;
    private readonly long[] _slotLba;
    private readonly int[] _slotExpected;
    private readonly int[] _prepared;
    private int _preparedCount;
    private readonly int _ioBytes;
    private readonly int _sector;
    private readonly int _fd;
    private readonly bool _fixedFile;
    private readonly UringCqe[] _cqes;

    public UringJobEngine(UringBenchTarget target, JobIoSettings settings, IIoCompletionSink sink)
    {
        _sink = sink;
        _sector = target.Geometry.BlockSize;
        _ioBytes = settings.MaxBlocksPerIo * _sector;
        _slotLba = new long[settings.IoDepth];
        _slotExpected = new int[settings.IoDepth];
        _prepared = new int[settings.IoDepth];
        _cqes = new UringCqe[Math.Min(settings.IoDepth, 256)];
        _file = NativeFile.OpenSame(target.Path, target.LockHolder, writable: true, direct: target.Direct);
        try
        {
            _buffers = new AlignedBuffer((nuint)settings.IoDepth * (nuint)_ioBytes, 4096);
            uint entries = (uint)settings.IoDepth;
            _ring = UringRing.Create(new UringRingOptions { SqEntries = entries, CqEntries = entries * 2 });
            // READ/WRITE arrived in 5.6; READ_FIXED/WRITE_FIXED (5.1) need registered buffers.
            _ring.RegisterBuffers([_buffers.AsIoVec()]);
            _ring.RegisterFiles([_file.Fd]);
            _fixedFile = true;
            _fd = 0;
        }
        catch
        {
            _ring?.Dispose();
            _buffers?.Dispose();
            _file.Dispose();
            throw;
        }
    }

    public Span<byte> HostBuffer(int slot) => _buffers.Slice(slot * _ioBytes, _ioBytes);

    public bool Submit(int slot, IoDirection direction, long lba, int blocks)
    {
        _slotLba[slot] = lba;
        byte* buffer = (byte*)_buffers.Pointer + (nint)slot * _ioBytes;
        ulong offset = (ulong)lba * (ulong)_sector;
        uint length = (uint)(blocks * _sector);
        ref UringSqe sqe = ref _ring.GetSqe();
        if (direction == IoDirection.Write)
            sqe.PrepareWriteFixed(_fd, (nint)buffer, length, offset, 0, (ulong)slot, _fixedFile);
        else if (direction == IoDirection.Read)
            sqe.PrepareReadFixed(_fd, (nint)buffer, length, offset, 0, (ulong)slot, _fixedFile);
        else
            sqe.PreparePunchHole(_fd, offset, length, (ulong)slot, _fixedFile);
        _slotExpected[slot] = direction == IoDirection.Trim ? 0 : (int)length;
        _prepared[_preparedCount++] = slot;
        return false;
    }

    public int Poll(int maxCompletions)
    {
        if (_ring.InFlight == 0 && _ring.Unsubmitted == 0)
            return 0;
        if (_preparedCount > 0)
        {
            long now = System.Diagnostics.Stopwatch.GetTimestamp();
            for (int i = 0; i < _preparedCount; i++) _sink.OnIssued(_prepared[i], now);
            _preparedCount = 0;
        }
        _ring.SubmitAndWait(_ring.ReadyCompletions == 0 ? 1u : 0u);
        int total = 0;
        while (total < maxCompletions)
        {
            int n = _ring.ReapBatch(_cqes.AsSpan(0, Math.Min(_cqes.Length, maxCompletions - total)));
            if (n == 0) break;
            for (int i = 0; i < n; i++)
            {
                int slot = (int)_cqes[i].UserData;
                int result = _cqes[i].Result;
                if (result == _slotExpected[slot])
                    _sink.OnCompleted(slot, IoOutcome.Ok);
                else
                    _sink.OnCompleted(slot, new IoOutcome(IoResultKind.OtherError, result < 0 ? result : -5 /* EIO: short transfer */, _slotLba[slot]));
            }
            total += n;
        }
        return total;
    }

    public void Dispose()
    {
        try
        {
            while (_ring.InFlight > 0)
                Poll(int.MaxValue);
        }
        finally
        {
            _ring.Dispose();
            _buffers.Dispose();
            _file.Dispose();
        }
    }
}
