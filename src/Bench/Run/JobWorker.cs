using System.Diagnostics;
using PolledNvme.Bench.Engines;
using PolledNvme.Bench.Options;

namespace PolledNvme.Bench.Run;

/// <summary>
/// One clone of a fio job: a thread with its own engine (queue pair) that keeps <c>iodepth</c>
/// commands in flight, picks direction, size and offset as fio does, holds to its rate, polls
/// its own completions and records them (fio's slat, clat and lat, depths, logs). Nothing on the
/// submit/complete path allocates, locks or prints; the runner reads only the published counters.
/// </summary>
internal sealed partial class JobWorker : IIoCompletionSink
{
    private readonly BenchPlan _plan;
    private readonly BenchOptions _o;
    private readonly IBenchTarget _target;
    private readonly RunControl _control;
    private readonly int _blockSize;
    private readonly bool _yieldWhenIdle;

    private IIoEngine? _engine;
    private readonly long[] _startTicks;
    private readonly long[] _issueTicks;
    private readonly long[] _slotLba;
    private readonly int[] _slotBlocks;
    private readonly IoDirection[] _slotDirection;
    private readonly int[] _freeSlots;
    private int _freeCount;
    private int _inFlight;
    private int _deferredIssued;

    private OffsetPicker? _offsets;
    private readonly BlockSizePicker _sizes;
    private readonly RateLimiter? _rate;
    private JobRandom _random;
    private readonly long _regionFirstLba;

    private long _measureStartTicks = long.MaxValue;
    private bool _measuring;
    private bool _prefilling;
    private readonly long[] _doneIos = new long[3];
    private readonly long[] _doneBytes = new long[3];
    private long _allocatedAtStart;
    private bool _writeAfterTrim;
    private long _trimLba;
    private int _trimBlocks;
    private volatile int _snapshotState;   // 0 idle, 1 asked, 2 taken (see Snapshot)

    public JobWorker(BenchPlan plan, IBenchTarget target, int clone, int threadNumber, RunControl control)
    {
        _plan = plan;
        _o = plan.Options;
        _target = target;
        _control = control;
        Clone = clone;
        ThreadNumber = threadNumber;
        _blockSize = plan.Geometry.BlockSize;
        // A sleeping pair (--poll=adaptive|interrupt) gives the core back itself when it waits; a
        // yield on top hands it to any runnable thread for a whole time slice (a CPU hog), each time.
        _yieldWhenIdle = target.YieldWhenIdle && _o.PollMode == Driver.PollMode.Spin;
        int depth = _o.IoDepth;
        _startTicks = new long[depth];
        _issueTicks = new long[depth];
        _slotLba = new long[depth];
        _slotBlocks = new int[depth];
        _slotDirection = new IoDirection[depth];
        _freeSlots = new int[depth];
        // randrepeat=0: offsets from the clock; the verify pattern keeps the seed so a later run can check it.
        ulong seed = _o.RandRepeat ? _o.Seed : (ulong)Stopwatch.GetTimestamp() ^ (ulong)Environment.ProcessId << 32;
        _random = new JobRandom(seed, threadNumber, 0);
        _sizes = new BlockSizePicker(_o.BlockSizes, _blockSize, new JobRandom(seed, threadNumber, 1));
        _rate = _o.IsRated ? new RateLimiter(_o, new JobRandom(seed, threadNumber, 2)) : null;
        _offsetSeed = new JobRandom(seed, threadNumber, 3);
        _regionFirstLba = plan.RegionFirstLba + clone * plan.OffsetIncrementBlocks;
        for (int d = 0; d < 3; d++)
            Stats[d] = DirectionStats.For(_o, d);
        Timeline = new RunTimeline(plan.TimelineBucket);
        Logs = JobLogs.Create(_o, threadNumber);
    }

    private readonly JobRandom _offsetSeed;

    /// <summary>The job's plan.</summary>
    public BenchPlan Plan => _plan;
    /// <summary>Clone index within the job (0..numjobs-1).</summary>
    public int Clone { get; }
    /// <summary>fio's job number across the run, 1-based (log file names).</summary>
    public int ThreadNumber { get; }
    /// <summary>Per direction (read, write, trim) statistics of the measured phase.</summary>
    public DirectionStats[] Stats { get; } = new DirectionStats[3];
    /// <summary>Depth distributions of the measured phase.</summary>
    public DepthStats Depth { get; } = new();
    /// <summary>Completions over time (measured phase).</summary>
    public RunTimeline Timeline { get; }
    /// <summary>The fio logs this clone writes, or null.</summary>
    public JobLogs? Logs { get; }
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
    /// <summary>Whether the thread has finished (read from other threads).</summary>
    public bool Finished => Volatile.Read(ref _finished);
    private bool _finished;
    /// <summary>Start of the measured phase in Stopwatch ticks, long.MaxValue before (read from other threads).</summary>
    public long MeasureStartTicks => Volatile.Read(ref _measureStartTicks);
    /// <summary>Completions of <paramref name="direction"/> so far in the measured phase (read from other threads).</summary>
    public long DoneIos(int direction) => Volatile.Read(ref _doneIos[direction]);
    /// <summary>Bytes of <paramref name="direction"/> so far in the measured phase (read from other threads).</summary>
    public long DoneBytes(int direction) => Volatile.Read(ref _doneBytes[direction]);

    /// <summary>The thread body: set up, signal <paramref name="ready"/>, wait for <paramref name="go"/>, run.</summary>
    public void Run(CountdownEvent ready, ManualResetEventSlim go)
    {
        try
        {
            try
            {
                Pinned = Pin();
                _engine = _target.OpenJob(Clone, _plan.Settings, this);
                for (int s = 0; s < _freeSlots.Length; s++) _freeSlots[s] = _freeSlots.Length - 1 - s;
                _freeCount = _freeSlots.Length;
                _offsets = new OffsetPicker(_plan.RegionBlocks, _plan.AlignBlocks, _plan.MinBlocks, _plan.UsesRandomMap,
                    _o.Distribution, _blockSize, _offsetSeed);
                if (_o.Verify && !_o.VerifyOnly) Prefill();
            }
            catch (Exception e)
            {
                Fault = e;
                return;
            }
            finally
            {
                ready.Signal();
            }
            go.Wait();
            if (_control.StopRequested) return;
            try
            {
                if (StartDelay() is { } delay && delay > TimeSpan.Zero && !SleepUnlessStopped(delay)) return;
                RunMeasured();
            }
            catch (Exception e)
            {
                Fault = e;
            }
        }
        finally
        {
            DisposeEngine();
            if (_o.ExitAll) _control.RequestStop();
            Volatile.Write(ref _finished, true);
        }
    }

    private bool Pin()
    {
        if (_o.CpusAllowed is { } cpus)
        {
            int[] set = _o.CpuPolicy == CpuPolicy.Split ? [cpus[(ThreadNumber - 1) % cpus.Length]] : cpus;
            return NativeThread.SetAffinity(set);
        }
        if (!_o.Pin) return false;
        // Job threads take the allowed CPUs from the lowest up (the default device's thread has the last one).
        int[] allowed = Queues.CoreAffinity.AllowedCpus();
        return NativeThread.PinCurrentThread(allowed[(ThreadNumber - 1) % allowed.Length]);
    }

    private TimeSpan StartDelay()
    {
        var (min, max) = _o.StartDelay;
        if (max <= min) return min;
        return min + TimeSpan.FromTicks(_random.Below(max.Ticks - min.Ticks + 1));
    }

    private bool SleepUnlessStopped(TimeSpan delay)
    {
        long end = Stopwatch.GetTimestamp() + (long)(delay.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < end)
        {
            if (_control.StopRequested) return false;
            Thread.Sleep(Math.Clamp((int)((end - Stopwatch.GetTimestamp()) * 1000 / Stopwatch.Frequency), 1, 50));
        }
        return true;
    }

    private void DisposeEngine()
    {
        try { _engine?.Dispose(); }
        catch (Exception e) { Fault ??= e; }
        _engine = null;
    }

    // verify: the region is written once with the pattern before the clock starts, so every
    // read of the measured phase has something to check against. Clones sharing a region split it.
    private void Prefill()
    {
        _prefilling = true;
        long chunk = _plan.Settings.MaxBlocksPerIo;
        long blocks = _plan.RegionBlocks;
        bool shared = _plan.OffsetIncrementBlocks == 0;
        long first = shared ? blocks * Clone / _o.NumJobs : 0;
        long end = shared ? blocks * (Clone + 1) / _o.NumJobs : blocks;
        _control.AddSetupWork($"laying out {Report.NormalReport.FormatBytes(_plan.RegionBytes * (shared ? 1 : _o.NumJobs))} for verify", (end - first) * _blockSize);
        long next = first;
        var engine = _engine!;
        // A stop (a signal) during the lay-out drains what is in flight; the job then ends before its measured phase.
        while ((next < end && !_control.StopRequested) || _inFlight > 0)
        {
            while (next < end && _freeCount > 0 && !_control.StopRequested)
            {
                int n = (int)Math.Min(chunk, end - next);
                SubmitAt(IoDirection.Write, _regionFirstLba + next, n);
                next += n;
            }
            if (engine.Poll(_freeSlots.Length) == 0 && _yieldWhenIdle)
                Thread.Yield();
        }
        _prefilling = false;
        if (FirstError is not null)
            throw new BenchFailedException($"job {_o.Name}.{Clone}: laying out the verify pattern failed: {FirstError}");
    }
}
