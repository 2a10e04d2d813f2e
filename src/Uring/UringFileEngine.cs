using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace PolledNvme.Uring;

/// <summary>
/// The kernel's I/O path for comparison benchmarks: reads and writes a file or block device
/// through our io_uring, like <c>fio --ioengine=io_uring</c>, keeping
/// <see cref="UringEngineOptions.QueueDepth"/> operations in flight and submitting them in
/// batches. One engine per thread.
/// </summary>
/// <example>
/// <code>
/// using var engine = new UringFileEngine(new UringEngineOptions { Path = "/tmp/f", Direct = true, QueueDepth = 32 });
/// UringRunResult r = engine.Run(ioCount: 0, duration: TimeSpan.FromSeconds(10), latencies: sink);
/// Console.WriteLine($"{r.Iops:F0} IOPS, {r.CpuNanosecondsPerIo:F0} ns CPU/IO");
/// </code>
/// </example>
public sealed unsafe class UringFileEngine : IDisposable
{
    private readonly UringEngineOptions _options;
    private readonly NativeFile _lock;           // holds the file's lock; never registered with a ring
    private readonly NativeFile _file;
    private readonly AlignedBuffer _buffers;     // QueueDepth slots of BlockSize bytes, one per in-flight I/O
    private readonly int[] _freeSlots;
    private readonly long[] _slotOffset;
    private readonly bool[] _slotIsWrite;
    private readonly long[] _slotSubmittedAt;  // Stopwatch ticks when the slot's I/O was prepared
    private readonly long _regionStart;
    private readonly long _regionBlocks;
    private bool _running;
    private bool _usingFixedBuffers;

    /// <summary>
    /// Opens and locks the file or device (exclusively when the mix writes, shared when it only
    /// reads) and allocates the I/O buffers. Throws <see cref="ArgumentOutOfRangeException"/> for
    /// bad options, <see cref="UringException"/> when the file cannot be opened (with the errno),
    /// <see cref="FileLockedException"/> when another user holds a conflicting lock, and
    /// <see cref="ArgumentException"/> when the region does not fit in the file.
    /// </summary>
    public UringFileEngine(UringEngineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        bool writes = options.ReadPercent < 100;
        // One writer per file: an engine that writes holds it exclusively, a read-only one shares it.
        _lock = NativeFile.OpenLocked(options.Path, writable: writes, direct: false, create: false,
            writes ? FileLockMode.Exclusive : FileLockMode.Shared);
        try
        {
            _file = NativeFile.OpenSame(options.Path, _lock, writable: writes, direct: options.Direct);
        }
        catch
        {
            _lock.Dispose();
            throw;
        }
        try
        {
            long length = _file.Length;
            if (options.Direct && options.BlockSize % _file.DirectAlignment != 0)
                throw new ArgumentException($"With O_DIRECT, BlockSize ({options.BlockSize}) must be a multiple of the device's logical block size ({_file.DirectAlignment}).", nameof(options));
            long size = options.Size == 0 ? length - options.Offset : options.Size;
            if (options.Offset + size > length || size < options.BlockSize)
                throw new ArgumentException(
                    $"The region [{options.Offset}, {options.Offset + size}) does not fit in '{options.Path}' ({length} bytes) or is smaller than one block ({options.BlockSize} B). " +
                    "Create the file first (UringFileEngine.PrepareFile or 'pnvme'/'fio' layout) or choose a smaller Size.", nameof(options));
            _regionStart = options.Offset;
            _regionBlocks = size / options.BlockSize;
            FileLength = length;

            _buffers = new AlignedBuffer((nuint)options.QueueDepth * (nuint)options.BlockSize, 4096);
            new Random((int)options.Seed).NextBytes(_buffers.Span); // what writes write: not zeros, not compressible
            _freeSlots = new int[options.QueueDepth];
            _slotOffset = new long[options.QueueDepth];
            _slotIsWrite = new bool[options.QueueDepth];
            _slotSubmittedAt = new long[options.QueueDepth];
        }
        catch
        {
            _buffers?.Dispose();
            _file.Dispose();
            _lock.Dispose();
            throw;
        }
    }

    /// <summary>Size of the file or device in bytes.</summary>
    public long FileLength { get; }

    /// <summary>The options the engine runs with.</summary>
    public UringEngineOptions Options => _options;

    /// <summary>
    /// Runs until <paramref name="ioCount"/> I/Os have completed (0 = no limit) or
    /// <paramref name="duration"/> has passed (<see cref="TimeSpan.Zero"/> = no limit), or
    /// <paramref name="cancellation"/> is signalled; at least one limit is required. Reports each
    /// I/O's latency to <paramref name="latencies"/> if given. The ring is created on the calling
    /// thread (SINGLE_ISSUER) and closed before returning. Throws <see cref="UringException"/>
    /// naming the operation, offset and errno if an I/O fails, and <see cref="IOException"/> on a
    /// short transfer.
    /// </summary>
    public UringRunResult Run(long ioCount, TimeSpan duration, IUringLatencySink? latencies = null, CancellationToken cancellation = default)
    {
        if (ioCount < 0)
            throw new ArgumentOutOfRangeException(nameof(ioCount), ioCount, "ioCount must be 0 (no limit) or positive.");
        if (duration < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(duration), duration, "duration must be zero (no limit) or positive.");
        if (ioCount == 0 && duration == TimeSpan.Zero && !cancellation.CanBeCanceled)
            throw new ArgumentException("Give an I/O count, a duration or a cancellation token: the run would never end.", nameof(ioCount));
        if (_running)
            throw new InvalidOperationException("This engine is already running; use one engine per thread.");
        _running = true;
        try
        {
            return RunOnRing(ioCount, duration, latencies, cancellation);
        }
        finally
        {
            _running = false;
        }
    }

    private UringRunResult RunOnRing(long ioCount, TimeSpan duration, IUringLatencySink? latencies, CancellationToken cancellation)
    {
        int depth = _options.QueueDepth;
        uint sqEntries = (uint)depth;
        using var ring = UringRing.Create(new UringRingOptions { SqEntries = sqEntries, CqEntries = sqEntries * 2, SqPoll = _options.SqPoll });
        // READ/WRITE arrived in 5.6; READ_FIXED/WRITE_FIXED exist since 5.1, so they are the fallback.
        bool fixedBuffers = _options.RegisterBuffers || !ring.Probe.Supports(UringOpcode.Read);
        bool fixedFile = _options.RegisterFile;
        _usingFixedBuffers = fixedBuffers;
        if (fixedBuffers) ring.RegisterBuffers([_buffers.AsIoVec()]);
        if (fixedFile) ring.RegisterFiles([_file.Fd]);
        int fd = fixedFile ? 0 : _file.Fd;

        for (int i = 0; i < depth; i++)
            _freeSlots[i] = i;
        int freeCount = depth;

        var state = new RunState(_options.Seed, _regionBlocks);
        long stopAfterTicks = duration == TimeSpan.Zero ? long.MaxValue : (long)(duration.TotalSeconds * Stopwatch.Frequency);
        long issuedLimit = ioCount == 0 ? long.MaxValue : ioCount;
        int batch = _options.EffectiveBatch;
        int blockSize = _options.BlockSize;
        double nsPerTick = 1e9 / Stopwatch.Frequency;
        Span<UringCqe> cqes = stackalloc UringCqe[Math.Min(depth, 256)];
        long reads = 0, writes = 0, issued = 0;
        long[] submittedAt = _slotSubmittedAt;

        var cpuStart = ThreadCpuTime.Now();
        long enterStart = ring.EnterCalls;
        long start = Stopwatch.GetTimestamp();
        bool issuing = true;
        while (true)
        {
            // Top up: prepare until the queue is full, the batch is complete, or the run is over.
            int prepared = 0;
            if (issuing)
            {
                long now = Stopwatch.GetTimestamp();
                if (now - start >= stopAfterTicks || issued >= issuedLimit || cancellation.IsCancellationRequested)
                    issuing = false;
                while (issuing && freeCount > 0 && prepared < batch && issued < issuedLimit)
                {
                    int slot = _freeSlots[--freeCount];
                    PrepareIo(ring, ref state, slot, fd, fixedFile, fixedBuffers, blockSize);
                    submittedAt[slot] = now;
                    prepared++;
                    issued++;
                }
            }
            if (freeCount == depth)
                break; // nothing in flight and nothing more to issue

            // One io_uring_enter: hand over the batch and, if the queue is full or draining, wait for a completion.
            bool mustWait = freeCount == 0 || !issuing || issued >= issuedLimit || prepared < batch;
            ring.SubmitAndWait(mustWait ? 1u : 0u);

            int reaped;
            while ((reaped = ring.ReapBatch(cqes)) > 0)
            {
                long completedAt = Stopwatch.GetTimestamp();
                for (int i = 0; i < reaped; i++)
                {
                    int slot = (int)cqes[i].UserData;
                    if (cqes[i].Result != blockSize)
                        ThrowFailed(slot, cqes[i].Result);
                    bool isWrite = _slotIsWrite[slot];
                    if (isWrite) writes++; else reads++;
                    latencies?.Record(isWrite, (long)((completedAt - submittedAt[slot]) * nsPerTick));
                    _freeSlots[freeCount++] = slot;
                }
            }
        }
        long end = Stopwatch.GetTimestamp();
        var cpuEnd = ThreadCpuTime.Now();

        return new UringRunResult
        {
            Reads = reads,
            Writes = writes,
            BytesRead = reads * blockSize,
            BytesWritten = writes * blockSize,
            Elapsed = Stopwatch.GetElapsedTime(start, end),
            UserCpu = cpuEnd.User - cpuStart.User,
            SystemCpu = cpuEnd.System - cpuStart.System,
            EnterCalls = ring.EnterCalls - enterStart,
            RingFlags = ring.AppliedFlags.ToString(),
        };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void PrepareIo(UringRing ring, ref RunState state, int slot, int fd, bool fixedFile, bool fixedBuffers, int blockSize)
    {
        long block = _options.Random ? state.NextRandomBlock() : state.NextSequentialBlock();
        bool isWrite = _options.ReadPercent switch
        {
            100 => false,
            0 => true,
            _ => state.NextPercent() >= _options.ReadPercent,
        };
        ulong offset = (ulong)(_regionStart + block * blockSize);
        _slotOffset[slot] = (long)offset;
        _slotIsWrite[slot] = isWrite;
        byte* buffer = (byte*)_buffers.Pointer + (nint)slot * blockSize;
        ref UringSqe sqe = ref ring.GetSqe(); // cannot fail: in flight <= QueueDepth <= SQ entries < CQ entries
        if (fixedBuffers)
        {
            if (isWrite) sqe.PrepareWriteFixed(fd, (nint)buffer, (uint)blockSize, offset, 0, (ulong)slot, fixedFile);
            else sqe.PrepareReadFixed(fd, (nint)buffer, (uint)blockSize, offset, 0, (ulong)slot, fixedFile);
        }
        else
        {
            if (isWrite) sqe.PrepareWrite(fd, (nint)buffer, (uint)blockSize, offset, (ulong)slot, fixedFile);
            else sqe.PrepareRead(fd, (nint)buffer, (uint)blockSize, offset, (ulong)slot, fixedFile);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowFailed(int slot, int result)
    {
        bool isWrite = _slotIsWrite[slot];
        UringOpcode op = (isWrite, _usingFixedBuffers) switch
        {
            (true, true) => UringOpcode.WriteFixed,
            (true, false) => UringOpcode.Write,
            (false, true) => UringOpcode.ReadFixed,
            _ => UringOpcode.Read,
        };
        if (result < 0)
            throw UringErrors.ForCompletion(op, result, _file.Fd, (ulong)_slotOffset[slot], (ulong)_options.BlockSize, _options.Direct);
        throw new IOException($"{UringAbi.OpcodeName(op)} at offset {_slotOffset[slot]} of '{_options.Path}' transferred {result} of {_options.BlockSize} bytes (short transfer: the file shrank?).");
    }

    /// <summary>
    /// Makes sure <paramref name="path"/> is a regular file of at least <paramref name="size"/>
    /// bytes of written (non-hole, non-zero) data, like fio's layout step: it extends a
    /// shorter file with pseudo-random blocks and leaves an adequate one untouched.
    /// <paramref name="progress"/>, when given, is told the bytes written so far and in all
    /// after each MiB (a long layout is worth showing; this method never prints).
    /// </summary>
    public static void PrepareFile(string path, long size, Action<long, long>? progress = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (size <= 0)
            throw new ArgumentOutOfRangeException(nameof(size), size, "size must be positive.");
        using var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, 1 << 20);
        if (stream.Length >= size)
            return;
        var chunk = new byte[1 << 20];
        var random = new Random(unchecked((int)size));
        long start = stream.Length;
        stream.Position = start;
        while (stream.Position < size)
        {
            random.NextBytes(chunk);
            stream.Write(chunk, 0, (int)Math.Min(chunk.Length, size - stream.Position));
            progress?.Invoke(stream.Position - start, size - start);
        }
        stream.Flush(flushToDisk: true);
    }

    /// <summary>Closes the file and frees the buffers.</summary>
    public void Dispose()
    {
        _buffers.Dispose();
        _file.Dispose();
        _lock.Dispose();
    }

    /// <summary>Offset and mix generator state: xorshift64* (Vigna), no allocation per draw.</summary>
    private struct RunState(ulong seed, long regionBlocks)
    {
        private ulong _x = seed == 0 ? 0x9E3779B97F4A7C15 : seed;
        private long _sequential;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private ulong Next()
        {
            _x ^= _x >> 12;
            _x ^= _x << 25;
            _x ^= _x >> 27;
            return _x * 0x2545F4914F6CDD1D;
        }

        /// <summary>Uniform in [0, regionBlocks) by multiply-high, no modulo bias worth the name.</summary>
        public long NextRandomBlock() => (long)Math.BigMul(Next(), (ulong)regionBlocks, out _);

        public long NextSequentialBlock()
        {
            long block = _sequential;
            _sequential = block + 1 == regionBlocks ? 0 : block + 1;
            return block;
        }

        public int NextPercent() => (int)Math.BigMul(Next(), 100UL, out _);
    }
}
