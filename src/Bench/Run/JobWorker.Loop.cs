using System.Diagnostics;
using PolledNvme.Bench.Engines;
using PolledNvme.Bench.Options;

namespace PolledNvme.Bench.Run;

/// <summary>The measured phase of a job: the submit/poll loop and the completion path.</summary>
internal sealed partial class JobWorker
{
    private JobSnapshot? _snapshot;

    private void RunMeasured()
    {
        var engine = _engine!;
        long start = Stopwatch.GetTimestamp();
        long rampEnd = start + ToTicks(_o.RampTime);
        long runtimeTicks = _o.Runtime is { } rt ? ToTicks(rt) : long.MaxValue / 4;
        long end = long.MaxValue;
        bool stopping = false;
        CpuSample cpuStart = default;
        // fio: a size-based job ends when (io_size or size) × loops bytes of its counted directions
        // were issued, or number_ios × loops I/Os; a time-based one only at runtime.
        long bytesLimit = _o.TimeBased ? long.MaxValue : SaturatingMultiply(_plan.BytesPerLoop, _o.Loops);
        long iosLimit = _o.NumberIos is { } n ? SaturatingMultiply(n, _o.Loops) : long.MaxValue;
        long issuedBytes = 0, issuedIos = 0;
        _rate?.Start(start);   // the rate holds during the ramp too; the measured phase restarts it

        if (rampEnd <= start)
        {
            BeginMeasuring(start, ref cpuStart);
            end = start + runtimeTicks;
        }

        while (true)
        {
            // The clock was read at the last submit or completion of the previous pass (a few µs
            // ago at most): reuse it, so timing slat separately costs no extra clock read per I/O.
            long now = _clockFresh ? _lastTicks : Stopwatch.GetTimestamp();
            _clockFresh = false;
            if (!_measuring && now >= rampEnd)
            {
                BeginMeasuring(now, ref cpuStart);
                end = now + runtimeTicks;
            }
            if (!stopping && (now >= end || _control.StopRequested)) stopping = true;
            if (stopping && _inFlight == 0) break;
            if (_snapshotState == 1) TakeSnapshot(now);

            bool held = false;
            long heldUntil = 0;
            while (!stopping && _freeCount > 0)
            {
                if (_measuring && (issuedBytes >= bytesLimit || issuedIos >= iosLimit))
                {
                    stopping = true;
                    break;
                }
                IoDirection direction = NextDirection();
                if (_rate is not null && !RateAllows(ref direction, now, out heldUntil))
                {
                    held = true;
                    break;
                }
                (long lba, int blocks) = NextIo(direction);
                SubmitAt(direction, _regionFirstLba + lba, blocks);
                long bytes = (long)blocks * _blockSize;
                _rate?.Issued((int)direction, bytes);
                if (_measuring)
                {
                    issuedIos++;
                    if (CountsTowardsSize(direction)) issuedBytes += bytes;
                }
            }
            int reaped = engine.Poll(_freeSlots.Length);
            if (_measuring)
            {
                if (_deferredIssued > 0) Depth.RecordSubmit(_deferredIssued);
                if (reaped > 0) Depth.RecordComplete(reaped);
            }
            _deferredIssued = 0;
            if (reaped == 0)
            {
                if (held && _inFlight == 0) WaitForRate(Math.Min(heldUntil, end));
                else if (_yieldWhenIdle) Thread.Yield();
                _clockFresh = false;   // time passed while waiting
            }
        }

        long finish = Stopwatch.GetTimestamp();
        AllocatedBytes = GC.GetAllocatedBytesForCurrentThread() - _allocatedAtStart;
        if (_measureStartTicks == long.MaxValue) BeginMeasuring(finish, ref cpuStart);   // ended inside the ramp
        Elapsed = TimeSpan.FromSeconds((double)(finish - _measureStartTicks) / Stopwatch.Frequency);
        Cpu = NativeThread.SampleThread() - cpuStart;
        _finishTicks = finish;
        _finishedAt = DateTimeOffset.UtcNow;
        Volatile.Write(ref _measureEnded, true);
    }

    private long _finishTicks;
    private DateTimeOffset _finishedAt;
    private bool _measureEnded;

    /// <summary>Whether the measured phase is over (the runner stops sampling the job then).</summary>
    public bool MeasureEnded => Volatile.Read(ref _measureEnded);

    /// <summary>Closes the logs' windows and writes the files (called by the runner once the thread has ended).</summary>
    public void WriteLogs()
    {
        if (Logs is null || _finishTicks == 0) return;
        long ms = ElapsedMs(_finishTicks);
        Logs.FinishAndWrite(ms, _o.Logs.UnixEpoch ? _finishedAt.ToUnixTimeMilliseconds() - ms : 0);
    }

    private static long ToTicks(TimeSpan t) => (long)(t.TotalSeconds * Stopwatch.Frequency);

    private static long SaturatingMultiply(long a, long b) => b != 0 && a > long.MaxValue / b ? long.MaxValue : a * b;

    private long ElapsedMs(long ticks) => (ticks - _measureStartTicks) * 1000 / Stopwatch.Frequency;

    // fio's io_bytes_exceeded: mixes count reads and writes, write patterns (trimwrite too) writes, trims trims.
    private bool CountsTowardsSize(IoDirection d) => d switch
    {
        IoDirection.Read => _o.HasReads,
        IoDirection.Write => true,
        _ => !_o.HasWrites && !_o.HasReads,
    };

    private void BeginMeasuring(long now, ref CpuSample cpuStart)
    {
        foreach (var s in Stats) s.Reset();
        Depth.Reset();
        FirstError = null;
        Timeline.Start(now);
        _rate?.Start(now);
        for (int d = 0; d < 3; d++)
        {
            Volatile.Write(ref _doneIos[d], 0);
            Volatile.Write(ref _doneBytes[d], 0);
        }
        cpuStart = NativeThread.SampleThread();
        _allocatedAtStart = GC.GetAllocatedBytesForCurrentThread();
        _measuring = true;
        Volatile.Write(ref _measureStartTicks, now);
    }

    private IoDirection NextDirection()
    {
        switch (_o.Pattern)
        {
            case RwPattern.TrimWrite:
            case RwPattern.RandTrimWrite:
                return _writeAfterTrim ? IoDirection.Write : IoDirection.Trim;
            case RwPattern.Trim:
            case RwPattern.RandTrim:
                return IoDirection.Trim;
        }
        int readPercent = _o.EffectiveReadPercent;
        if (readPercent == 100) return IoDirection.Read;
        if (readPercent == 0) return IoDirection.Write;
        return _random.Below(100) < readPercent ? IoDirection.Read : IoDirection.Write;
    }

    // fio's rate_ddir: a direction ahead of its rate waits, unless the other direction of a mix is behind.
    private bool RateAllows(ref IoDirection direction, long now, out long until)
    {
        int d = (int)direction;
        until = _rate!.Due(d);
        if (until <= now) return true;
        if (_o.IsMixed)
        {
            int other = 1 - d;
            long otherDue = _rate.Due(other);
            if (otherDue <= now && _o.ReadMixPercent is > 0 and < 100)
            {
                direction = (IoDirection)other;
                return true;
            }
            until = Math.Min(until, otherDue);
        }
        return false;
    }

    private void WaitForRate(long until)
    {
        long wait = until - Stopwatch.GetTimestamp();
        if (wait <= 0 || _control.StopRequested) return;
        long ms = wait * 1000 / Stopwatch.Frequency;
        if (ms >= 2) Thread.Sleep((int)Math.Min(ms - 1, 50));
        else Thread.Yield();
    }

    private (long Lba, int Blocks) NextIo(IoDirection direction)
    {
        int d = (int)direction;
        if (_writeAfterTrim && direction == IoDirection.Write)
        {
            _writeAfterTrim = false;
            return (_trimLba, _trimBlocks);
        }
        bool random = _o.IsRandom && (_o.PercentRandom[d] >= 100 || _random.Below(100) < _o.PercentRandom[d]);
        int blocks = _sizes.Next(_o.BlockSizeIsSeqRand ? (random ? 1 : 0) : d);
        long lba;
        if (random)
        {
            lba = _offsets!.NextRandom(d, blocks);
            if (lba < 0)
            {
                _offsets.NewPass();   // fio: the random map is full; a further pass starts over
                lba = Math.Max(0, _offsets.NextRandom(d, blocks));
            }
        }
        else
        {
            lba = _offsets!.NextSequential(d, blocks);
        }
        if (direction == IoDirection.Trim && _o.Pattern is RwPattern.TrimWrite or RwPattern.RandTrimWrite)
        {
            (_trimLba, _trimBlocks, _writeAfterTrim) = (lba, blocks, true);
        }
        return (lba, blocks);
    }

    private void SubmitAt(IoDirection direction, long lba, int blocks)
    {
        int slot = _freeSlots[--_freeCount];
        _slotLba[slot] = lba;
        _slotBlocks[slot] = blocks;
        _slotDirection[slot] = direction;
        if (direction == IoDirection.Write && _o.Verify)
            VerifyPattern.Fill(_engine!.HostBuffer(slot)[..(blocks * _blockSize)], _blockSize, lba, _o.Seed);
        _inFlight++;
        if (_measuring) Depth.RecordDepth(_inFlight);
        _startTicks[slot] = Stopwatch.GetTimestamp();
        if (_engine!.Submit(slot, direction, lba, blocks))
        {
            long issued = Stopwatch.GetTimestamp();
            _issueTicks[slot] = issued;
            (_lastTicks, _clockFresh) = (issued, true);
            if (_measuring) Depth.RecordSubmit(1);
        }
    }

    private long _lastTicks;
    private bool _clockFresh;

    /// <inheritdoc />
    public void OnIssued(int slot, long ticks)
    {
        _issueTicks[slot] = ticks;
        _deferredIssued++;
    }

    /// <inheritdoc />
    public void OnCompleted(int slot, in IoOutcome result)
    {
        long now = Stopwatch.GetTimestamp();
        (_lastTicks, _clockFresh) = (now, true);
        long started = _startTicks[slot];
        IoDirection direction = _slotDirection[slot];
        int blocks = _slotBlocks[slot];
        long lba = _slotLba[slot];
        _freeSlots[_freeCount++] = slot;
        _inFlight--;
        int bytes = blocks * _blockSize;

        if (_prefilling)
        {
            if (result.Kind != IoResultKind.Ok) NoteError(direction, lba, result);
            _control.SetupDone(bytes);
            return;
        }
        if (started < _measureStartTicks)
            return;   // submitted during the ramp

        int d = (int)direction;
        long issued = _issueTicks[slot];
        long slatNs = _plan.TicksToNs(issued - started);
        long clatNs = _plan.TicksToNs(now - issued);
        var stats = Stats[d];
        stats.Record(slatNs, clatNs, bytes, result.Kind);
        Timeline.Record(now, d, bytes, slatNs + clatNs);
        Volatile.Write(ref _doneIos[d], _doneIos[d] + 1);
        Volatile.Write(ref _doneBytes[d], _doneBytes[d] + bytes);
        if (Logs is { } logs) Log(logs, stats, now, d, bytes, lba, slatNs, clatNs);

        if (result.Kind != IoResultKind.Ok)
        {
            NoteError(direction, lba, result);
        }
        else if (direction == IoDirection.Read && _o.Verify)
        {
            int bad = VerifyPattern.FindMismatch(_engine!.HostBuffer(slot)[..bytes], _blockSize, lba, _o.Seed);
            if (bad >= 0)
            {
                stats.RecordVerifyError();
                FirstError ??= $"read lba {lba + bad}: data does not match the --verify pattern";
            }
        }
    }

    // fio's per-I/O samples: latencies in ns; with per-I/O bandwidth/IOPS logs also fio's
    // per-I/O rates (bytes × 10^6 / clat ns, and 1), which then make the bw/iops statistics too.
    private void Log(JobLogs logs, DirectionStats stats, long now, int d, int bytes, long lba, long slatNs, long clatNs)
    {
        long ms = ElapsedMs(now);
        long offset = lba * _blockSize;
        logs.Lat?.Add(ms, slatNs + clatNs, d, bytes, offset);
        logs.Clat?.Add(ms, clatNs, d, bytes, offset);
        logs.Slat?.Add(ms, slatNs, d, bytes, offset);
        if (logs.BwPerIo)
        {
            long rate = clatNs > 0 ? (long)((double)bytes * 1_000_000 / clatNs) : 0;
            stats.Bandwidth.Add(rate);
            logs.Bw!.Add(ms, rate, d, bytes, offset);
        }
        if (logs.IopsPerIo)
        {
            stats.IopsSamples.Add(1);
            logs.Iops!.Add(ms, 1, d, bytes, offset);
        }
    }

    private void NoteError(IoDirection direction, long lba, in IoOutcome result)
    {
        if (FirstError is not null) return;
        string name = direction switch { IoDirection.Read => "read", IoDirection.Write => "write", _ => "trim" };
        FirstError = $"{name} lba {(result.Lba >= 0 && result.IsPiError ? result.Lba : lba)}: {ErrorText.Describe(result)}";
    }

    /// <summary>Prepares the copies <see cref="RequestSnapshot"/> fills (allocated here, on the caller's thread, not in the job's loop).</summary>
    public void PrepareSnapshots() => _snapshot = new JobSnapshot(_o);

    /// <summary>Asks the job thread for a consistent copy of its statistics (<c>--status-interval</c>).</summary>
    public void RequestSnapshot() => _snapshotState = 1;

    /// <summary>The copy, once the job thread has taken it (or the final figures when the job has ended); null while pending.</summary>
    public JobSnapshot? TryGetSnapshot()
    {
        if (_snapshotState == 2)
        {
            _snapshotState = 0;
            return _snapshot;
        }
        return null;
    }

    private void TakeSnapshot(long now)
    {
        var snapshot = _snapshot!;
        for (int d = 0; d < 3; d++)
        {
            snapshot.Stats[d].Reset();
            snapshot.Stats[d].Add(Stats[d]);
        }
        snapshot.Depth.Reset();
        snapshot.Depth.Add(Depth);
        snapshot.Elapsed = _measuring ? TimeSpan.FromSeconds((double)(now - _measureStartTicks) / Stopwatch.Frequency) : TimeSpan.Zero;
        snapshot.FirstError = FirstError;
        _snapshotState = 2;
    }
}

/// <summary>A job's statistics at one moment of the run (<c>--status-interval</c>).</summary>
internal sealed class JobSnapshot
{
    public JobSnapshot(BenchOptions o)
    {
        for (int d = 0; d < 3; d++)
            Stats[d] = DirectionStats.For(o, d);
    }

    public DirectionStats[] Stats { get; } = new DirectionStats[3];
    public DepthStats Depth { get; } = new();
    public TimeSpan Elapsed { get; set; }
    public string? FirstError { get; set; }
}
