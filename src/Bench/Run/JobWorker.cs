using System.Diagnostics;
using PolledNvme.Bench.Engines;

namespace PolledNvme.Bench.Run;

/// <summary>
/// One fio job: a thread with its own engine (queue pair) that keeps <c>iodepth</c> commands in
/// flight, polls its own completions and records them. Nothing on the submit/complete path
/// allocates, locks or prints.
/// </summary>
internal sealed class JobWorker : IIoCompletionSink
{
    private readonly BenchPlan _plan;
    private readonly IBenchTarget _target;
    private readonly int _index;
    private readonly Barrier _startLine;
    private readonly StopRequest _stop;

    private IIoEngine? _engine;
    private readonly long[] _submitTicks;
    private readonly long[] _slotLba;
    private readonly IoDirection[] _slotDirection;
    private readonly int[] _freeSlots;
    private int _freeCount;
    private int _inFlight;
    private ulong _random;
    private long _sequentialNext;
    private long _measureStartTicks = long.MaxValue;
    private bool _prefilling;
    private readonly bool _yieldWhenIdle;
    private volatile int _progressIos;
    private long _progressBytes;
    private long _allocatedAtStart;

    public JobWorker(BenchPlan plan, IBenchTarget target, int index, Barrier startLine, StopRequest stop)
    {
        _stop = stop;
        _plan = plan;
        _target = target;
        _index = index;
        _startLine = startLine;
        int depth = plan.Options.IoDepth;
        _submitTicks = new long[depth];
        _slotLba = new long[depth];
        _slotDirection = new IoDirection[depth];
        _freeSlots = new int[depth];
        _random = SplitSeed(plan.Options.Seed, index);
        Timeline = new IopsTimeline(plan.TimelineBucket);
        _yieldWhenIdle = target.YieldWhenIdle;
    }

    /// <summary>Read statistics of the measured phase.</summary>
    public DirectionStats Reads { get; } = new();
    /// <summary>Write statistics of the measured phase.</summary>
    public DirectionStats Writes { get; } = new();
    /// <summary>Completions over time (measured phase).</summary>
    public IopsTimeline Timeline { get; }
    /// <summary>CPU time of the job thread in the measured phase.</summary>
    public CpuSample Cpu { get; private set; }
    /// <summary>Bytes the job thread allocated in the measured phase (the hot path should allocate none).</summary>
    public long AllocatedBytes { get; private set; }
    /// <summary>Length of the measured phase.</summary>
    public TimeSpan Elapsed { get; private set; }
    /// <summary>Whether pinning worked (false when not asked or refused).</summary>
    public bool Pinned { get; private set; }
    /// <summary>The first failure, described (null when none).</summary>
    public string? FirstError { get; private set; }
    /// <summary>An exception that ended the job early (opening the engine, a submit that threw).</summary>
    public Exception? Fault { get; private set; }
    /// <summary>Completions so far, for the progress line (read from another thread).</summary>
    public long ProgressIos => _progressIos;
    /// <summary>Bytes so far, for the progress line (read from another thread).</summary>
    public long ProgressBytes => Volatile.Read(ref _progressBytes);

    /// <summary>The thread body.</summary>
    public void Run()
    {
        try
        {
            if (_plan.Options.Pin)
                Pinned = NativeThread.PinCurrentThread(_index % Environment.ProcessorCount);
            _engine = _target.OpenJob(_index, _plan.Settings, this);
            for (int s = 0; s < _freeSlots.Length; s++) _freeSlots[s] = _freeSlots.Length - 1 - s;
            _freeCount = _freeSlots.Length;
            if (_plan.Options.Verify && !_plan.Options.VerifyOnly) Prefill();
        }
        catch (Exception e)
        {
            Fault = e;
            _startLine.RemoveParticipant();
            DisposeEngine();
            return;
        }
        _startLine.SignalAndWait();
        try
        {
            RunMeasured();
        }
        catch (Exception e)
        {
            Fault = e;
        }
        finally
        {
            DisposeEngine();
        }
    }

    private void DisposeEngine()
    {
        try { _engine?.Dispose(); }
        catch (Exception e) { Fault ??= e; }
        _engine = null;
    }

    // --verify: the region is written once with the pattern before the clock starts, so every
    // read of the measured phase has something to check against. Jobs split the region.
    private void Prefill()
    {
        _prefilling = true;
        long ios = _plan.RegionIos;
        long first = ios * _index / _plan.Options.NumJobs;
        long end = ios * (_index + 1) / _plan.Options.NumJobs;
        long next = first;
        var engine = _engine!;
        // A stop during the lay-out drains it; the measured phase then ends before its first I/O.
        while ((next < end && !_stop.IsRequested) || _inFlight > 0)
        {
            while (next < end && _freeCount > 0 && !_stop.IsRequested)
            {
                SubmitAt(IoDirection.Write, _plan.RegionFirstLba + next * _plan.Settings.BlocksPerIo);
                next++;
            }
            if (engine.Poll(_freeSlots.Length) == 0 && _yieldWhenIdle)
                Thread.Yield();
        }
        _prefilling = false;
        if (FirstError is not null)
            throw new BenchFailedException($"job {_index}: laying out the --verify pattern failed: {FirstError}");
    }

    private void RunMeasured()
    {
        var engine = _engine!;
        var options = _plan.Options;
        long start = Stopwatch.GetTimestamp();
        long rampEnd = start + (long)(options.RampTime.TotalSeconds * Stopwatch.Frequency);
        long runtimeTicks = options.Runtime is { } rt ? (long)(rt.TotalSeconds * Stopwatch.Frequency) : long.MaxValue / 4;
        long end = long.MaxValue;
        bool measuring = false;
        long iosToIssue = options.TimeBased ? long.MaxValue : _plan.RegionIos;
        long issued = 0;
        bool stopping = false;
        CpuSample cpuStart = default;

        if (rampEnd <= start)
        {
            measuring = true;
            BeginMeasuring(start, ref cpuStart);
            end = start + runtimeTicks;
        }

        while (true)
        {
            long now = Stopwatch.GetTimestamp();
            if (!measuring && now >= rampEnd)
            {
                measuring = true;
                BeginMeasuring(now, ref cpuStart);
                end = now + runtimeTicks;
            }
            if (!stopping && (now >= end || (measuring && issued >= iosToIssue) || _stop.IsRequested))
                stopping = true;
            if (stopping && _inFlight == 0) break;

            while (!stopping && _freeCount > 0 && (!measuring || issued < iosToIssue))
            {
                IoDirection direction = NextDirection();
                SubmitAt(direction, NextLba());
                if (measuring) issued++;
            }
            if (engine.Poll(_freeSlots.Length) == 0 && _yieldWhenIdle)
                Thread.Yield();
        }

        if (!measuring)
            return;   // stopped during the ramp: nothing was measured
        long finish = Stopwatch.GetTimestamp();
        AllocatedBytes = GC.GetAllocatedBytesForCurrentThread() - _allocatedAtStart;
        Elapsed = TimeSpan.FromSeconds((double)(finish - _measureStartTicks) / Stopwatch.Frequency);
        Cpu = NativeThread.SampleThread() - cpuStart;
    }

    private void BeginMeasuring(long now, ref CpuSample cpuStart)
    {
        Reads.Reset();
        Writes.Reset();
        FirstError = null;
        _measureStartTicks = now;
        Timeline.Start(now);
        cpuStart = NativeThread.SampleThread();
        _allocatedAtStart = GC.GetAllocatedBytesForCurrentThread();
    }

    private IoDirection NextDirection()
    {
        int readPercent = _plan.Options.EffectiveReadPercent;
        if (readPercent == 100) return IoDirection.Read;
        if (readPercent == 0) return IoDirection.Write;
        return (int)(NextRandom() % 100) < readPercent ? IoDirection.Read : IoDirection.Write;
    }

    private long NextLba()
    {
        long index;
        if (_plan.Options.IsRandom)
        {
            index = (long)Math.BigMul(NextRandom(), (ulong)_plan.RegionIos, out _);
        }
        else
        {
            index = _sequentialNext;
            _sequentialNext = index + 1 == _plan.RegionIos ? 0 : index + 1;
        }
        return _plan.RegionFirstLba + index * _plan.Settings.BlocksPerIo;
    }

    private void SubmitAt(IoDirection direction, long lba)
    {
        int slot = _freeSlots[--_freeCount];
        _slotLba[slot] = lba;
        _slotDirection[slot] = direction;
        if (direction == IoDirection.Write && _plan.Options.Verify)
            VerifyPattern.Fill(_engine!.HostBuffer(slot), _plan.Geometry.BlockSize, lba, _plan.Options.Seed);
        _inFlight++;
        _submitTicks[slot] = Stopwatch.GetTimestamp();
        _engine!.Submit(slot, direction, lba);
    }

    /// <inheritdoc />
    public void OnCompleted(int slot, in IoOutcome result)
    {
        long now = Stopwatch.GetTimestamp();
        long started = _submitTicks[slot];
        IoDirection direction = _slotDirection[slot];
        _freeSlots[_freeCount++] = slot;
        _inFlight--;

        if (_prefilling)
        {
            if (result.Kind != IoResultKind.Ok) NoteError(direction, _slotLba[slot], result);
            return;
        }
        if (started < _measureStartTicks)
            return;   // submitted during the ramp

        var stats = direction == IoDirection.Read ? Reads : Writes;
        stats.Record(_plan.TicksToNs(now - started), _plan.Options.BlockSizeBytes, result.Kind);
        Timeline.Record(now);
        _progressIos++;
        Volatile.Write(ref _progressBytes, _progressBytes + _plan.Options.BlockSizeBytes);

        if (result.Kind != IoResultKind.Ok)
        {
            NoteError(direction, _slotLba[slot], result);
        }
        else if (direction == IoDirection.Read && _plan.Options.Verify)
        {
            int bad = VerifyPattern.FindMismatch(_engine!.HostBuffer(slot), _plan.Geometry.BlockSize, _slotLba[slot], _plan.Options.Seed);
            if (bad >= 0)
            {
                stats.RecordVerifyError();
                FirstError ??= $"read lba {_slotLba[slot] + bad}: data does not match the --verify pattern";
            }
        }
    }

    private void NoteError(IoDirection direction, long lba, in IoOutcome result)
    {
        if (FirstError is not null) return;
        FirstError = $"{(direction == IoDirection.Read ? "read" : "write")} lba {(result.Lba >= 0 && result.IsPiError ? result.Lba : lba)}: {ErrorText.Describe(result)}";
    }

    private ulong NextRandom()
    {
        // xorshift64*: fast, full period, good enough for picking offsets.
        ulong x = _random;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        _random = x;
        return x * 0x2545F4914F6CDD1D;
    }

    private static ulong SplitSeed(ulong seed, int index)
    {
        ulong z = seed + (ulong)(index + 1) * 0x9E3779B97F4A7C15;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        z ^= z >> 31;
        return z == 0 ? 1 : z;
    }
}
