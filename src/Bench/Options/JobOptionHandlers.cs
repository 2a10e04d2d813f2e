using PolledNvme.Protection;

namespace PolledNvme.Bench.Options;

/// <summary>
/// What each accepted job option does, by fio's canonical name (<see cref="FioOptionCatalog"/>
/// lists the names, aliases and statuses). Values are parsed with fio's syntax; every bad value
/// is a <see cref="UsageException"/> naming the option.
/// </summary>
internal static class JobOptionHandlers
{
    private delegate void Handler(JobOptionState s, string? value, string flag);

    /// <summary>Device string kinds pnvme opens.</summary>
    public static readonly string[] DeviceKinds = ["emu:", "mem:", "null:", "pci:", "uring:"];

    private static readonly Dictionary<string, Handler> Handlers = new(StringComparer.Ordinal)
    {
        ["name"] = (s, v, f) =>
        {
            s.O = s.O with { Name = Name(f, v) };
            s.NameGiven = true;
        },
        ["description"] = (s, v, f) => s.O = s.O with { Description = v ?? "" },
        ["device"] = (s, v, f) => s.O = s.O with { Device = NonEmpty(f, v, "a device string, e.g. emu:/tmp/ns.img or mem:pi=1") },
        ["filename"] = (s, v, f) =>
        {
            string name = NonEmpty(f, v, "a file, a block device or a pnvme device string");
            if (name.Contains(':') && !DeviceKinds.Any(k => name.StartsWith(k, StringComparison.Ordinal)))
                throw new UsageException(f, $"'{name}': one file per job (fio's ':' separated lists are not supported); pnvme device strings start with {string.Join(", ", DeviceKinds)}");
            s.O = s.O with { FileName = name };
        },
        ["directory"] = (s, v, f) =>
        {
            string dir = NonEmpty(f, v, "a directory");
            if (dir.Contains(':')) throw new UsageException(f, $"'{dir}': one directory (fio's ':' separated lists are not supported)");
            s.O = s.O with { Directory = dir };
        },
        ["ioengine"] = (s, v, f) => s.O = s.O with { IoEngine = IoEngines.Check(f, NonEmpty(f, v, "an engine name")) },
        ["direct"] = (s, v, f) => s.O = s.O with { Direct = FioValueLists.ParseBool(f, Required(f, v)) },
        ["buffered"] = (s, v, f) => s.O = s.O with { Direct = !FioValueLists.ParseBool(f, Required(f, v)) },
        ["rw"] = (s, v, f) => s.O = s.O with { Pattern = BenchOptionParser.ParsePattern(f, Required(f, v)) },
        ["rwmixread"] = (s, v, f) => s.O = s.O with { ReadMixPercent = (int)FioValues.ParseInteger(f, Required(f, v), 0, 100) },
        ["rwmixwrite"] = (s, v, f) => s.O = s.O with { ReadMixPercent = 100 - (int)FioValues.ParseInteger(f, Required(f, v), 0, 100) },
        ["bs"] = (s, v, f) => s.O = s.O with
        {
            BlockSizes = PerDirection<BlockSizeSpec>.From(FioValueLists.ParsePerDirection(f, Required(f, v),
                t => BlockSizeSpec.Fixed(FioValueLists.BlockSize(f, t, s.KbBase)), s.O.BlockSizes.ToArray())),
        },
        ["bsrange"] = (s, v, f) => s.O = s.O with
        {
            BlockSizes = PerDirection<BlockSizeSpec>.From(FioValueLists.ParsePerDirection(f, Required(f, v),
                t => FioValueLists.ParseBlockSizeRange(f, t, s.KbBase), s.O.BlockSizes.ToArray())),
        },
        ["bssplit"] = (s, v, f) => s.O = s.O with
        {
            BlockSizes = PerDirection<BlockSizeSpec>.From(FioValueLists.ParsePerDirection(f, Required(f, v),
                t => FioValueLists.ParseBlockSizeSplit(f, t, s.KbBase), s.O.BlockSizes.ToArray())),
        },
        ["ba"] = (s, v, f) => s.O = s.O with
        {
            BlockAlign = PerDirection<int>.From(FioValueLists.ParsePerDirection(f, Required(f, v),
                t => FioValueLists.BlockSize(f, t, s.KbBase), s.O.BlockAlign.ToArray())),
        },
        ["bs_is_seq_rand"] = (s, v, f) => s.O = s.O with { BlockSizeIsSeqRand = FioValueLists.ParseBool(f, Required(f, v)) },
        ["iodepth"] = (s, v, f) => s.O = s.O with { IoDepth = (int)FioValues.ParseInteger(f, Required(f, v), 1, 4096) },
        ["numjobs"] = (s, v, f) => s.O = s.O with { NumJobs = (int)FioValues.ParseInteger(f, Required(f, v), 1, 256) },
        ["runtime"] = (s, v, f) =>
        {
            var t = FioValues.ParseTime(f, Required(f, v));
            if (t <= TimeSpan.Zero) throw new UsageException(f, "must be greater than 0");
            s.O = s.O with { Runtime = t };
            s.RuntimeGiven = true;
        },
        ["time_based"] = (s, v, f) => s.TimeBased = FioValueLists.ParseBool(f, v),
        ["size"] = (s, v, f) =>
        {
            var (bytes, percent) = FioValueLists.ParseSizeOrPercent(f, Required(f, v), s.KbBase);
            if (bytes == 0) throw new UsageException(f, "must be greater than 0");
            s.O = s.O with { SizeBytes = bytes, SizePercent = percent };
            s.AmountGiven = true;
        },
        ["offset"] = (s, v, f) =>
        {
            var (bytes, percent) = FioValueLists.ParseSizeOrPercent(f, Required(f, v), s.KbBase);
            s.O = s.O with { OffsetBytes = bytes ?? 0, OffsetPercent = percent };
        },
        ["offset_align"] = (s, v, f) => s.O = s.O with { OffsetAlign = FioValues.ParseSize(f, Required(f, v), s.KbBase) },
        ["offset_increment"] = (s, v, f) => s.O = s.O with { OffsetIncrement = FioValues.ParseSize(f, Required(f, v), s.KbBase) },
        ["io_size"] = (s, v, f) =>
        {
            long bytes = FioValues.ParseSize(f, Required(f, v), s.KbBase);
            if (bytes <= 0) throw new UsageException(f, "must be greater than 0");
            s.O = s.O with { IoSizeBytes = bytes };
            s.AmountGiven = true;
        },
        ["number_ios"] = (s, v, f) =>
        {
            long n = FioValues.ParseInteger(f, Required(f, v), 0, long.MaxValue);
            s.O = s.O with { NumberIos = n == 0 ? null : n };   // fio: 0 = no limit
            if (n > 0) s.AmountGiven = true;
        },
        ["loops"] = (s, v, f) =>
        {
            s.O = s.O with { Loops = (int)FioValues.ParseInteger(f, Required(f, v), 1, int.MaxValue) };
            s.AmountGiven = true;
        },
        ["ramp_time"] = (s, v, f) => s.O = s.O with { RampTime = FioValues.ParseTime(f, Required(f, v)) },
        ["startdelay"] = (s, v, f) => s.O = s.O with { StartDelay = FioValueLists.ParseTimeRange(f, Required(f, v)) },
        ["verify"] = (s, v, f) =>
        {
            s.VerifyGiven = true;
            s.VerifyValue = v?.Trim() switch
            {
                null or "" or "1" or "pattern" or "lba" => "1",
                "0" => "0",
                _ => throw new UsageException(f, $"'{v}' is not supported: pnvme's verify writes a pattern made of the LBA and the seed (verify=pattern, or bare) and checks every read; PI is checked by --prchk/--host-pi; verify=0 turns it off"),
            };
        },
        ["verify_only"] = (s, v, f) => s.VerifyOnly = FioValueLists.ParseBool(f, v),
        ["randseed"] = (s, v, f) => s.O = s.O with { Seed = FioValues.ParseUnsigned(f, Required(f, v)) },
        ["randrepeat"] = (s, v, f) => s.O = s.O with { RandRepeat = FioValueLists.ParseBool(f, Required(f, v)) },
        ["allrandrepeat"] = (s, v, f) => s.O = s.O with { RandRepeat = FioValueLists.ParseBool(f, Required(f, v)) },
        ["norandommap"] = (s, v, f) => s.O = s.O with { NoRandomMap = FioValueLists.ParseBool(f, v) },
        ["random_distribution"] = (s, v, f) => s.O = s.O with { Distribution = DistributionParser.Parse(f, Required(f, v), s.KbBase) },
        ["percentage_random"] = (s, v, f) => s.O = s.O with
        {
            PercentRandom = PerDirection<int>.From(FioValueLists.ParsePerDirection(f, Required(f, v),
                t => (int)FioValues.ParseInteger(f, t, 0, 100), s.O.PercentRandom.ToArray())),
        },
        ["rate"] = (s, v, f) => s.O = s.O with
        {
            RateBytes = PerDirection<long>.From(FioValueLists.ParsePerDirection(f, Required(f, v),
                t => FioValues.ParseSize(f, t, s.KbBase), [0, 0, 0])),
        },
        ["rate_iops"] = (s, v, f) => s.O = s.O with
        {
            RateIops = PerDirection<long>.From(FioValueLists.ParsePerDirection(f, Required(f, v),
                t => FioValues.ParseInteger(f, t, 0, long.MaxValue), [0, 0, 0])),
        },
        ["rate_process"] = (s, v, f) => s.O = s.O with
        {
            RateProcess = Required(f, v) switch
            {
                "linear" => RateProcess.Linear,
                "poisson" => RateProcess.Poisson,
                _ => throw new UsageException(f, $"'{v}' is not one of linear, poisson"),
            },
        },
        ["pin"] = (s, v, f) => s.O = s.O with { Pin = FioValueLists.ParseBool(f, v) },
        ["cpus_allowed"] = (s, v, f) => s.O = s.O with { CpusAllowed = CheckCpus(f, FioValueLists.ParseCpuList(f, Required(f, v))) },
        ["cpumask"] = (s, v, f) =>
        {
            ulong mask = FioValues.ParseUnsigned(f, Required(f, v));
            if (mask == 0) throw new UsageException(f, "selects no CPU");
            s.O = s.O with { CpusAllowed = CheckCpus(f, Enumerable.Range(0, 64).Where(c => (mask >> c & 1) != 0).ToArray()) };
        },
        ["cpus_allowed_policy"] = (s, v, f) => s.O = s.O with
        {
            CpuPolicy = Required(f, v) switch
            {
                "shared" => CpuPolicy.Shared,
                "split" => CpuPolicy.Split,
                _ => throw new UsageException(f, $"'{v}' is not one of shared, split"),
            },
        },
        ["stonewall"] = (s, v, f) => s.O = s.O with { Stonewall = FioValueLists.ParseBool(f, v) },
        ["new_group"] = (s, v, f) => s.O = s.O with { NewGroup = FioValueLists.ParseBool(f, v) },
        ["group_reporting"] = (s, v, f) => s.O = s.O with { GroupReporting = FioValueLists.ParseBool(f, v) },
        ["stats"] = (s, v, f) => s.O = s.O with { Stats = FioValueLists.ParseBool(f, Required(f, v)) },
        ["exitall"] = (s, v, f) => s.O = s.O with { ExitAll = FioValueLists.ParseBool(f, v) },
        ["thread"] = (s, v, f) => FioValueLists.ParseBool(f, v),   // jobs are always threads
        ["gtod_reduce"] = (s, v, f) =>
        {
            bool on = FioValueLists.ParseBool(f, Required(f, v));
            s.O = s.O with { MeasureLat = !on, MeasureClat = !on, MeasureSlat = !on, MeasureBw = !on };
        },
        ["disable_lat"] = (s, v, f) => s.O = s.O with { MeasureLat = !FioValueLists.ParseBool(f, Required(f, v)) },
        ["disable_clat"] = (s, v, f) => s.O = s.O with { MeasureClat = !FioValueLists.ParseBool(f, Required(f, v)) },
        ["disable_slat"] = (s, v, f) => s.O = s.O with { MeasureSlat = !FioValueLists.ParseBool(f, Required(f, v)) },
        ["disable_bw_measurement"] = (s, v, f) => s.O = s.O with { MeasureBw = !FioValueLists.ParseBool(f, Required(f, v)) },
        ["slat_percentiles"] = (s, v, f) => s.O = s.O with { SlatPercentiles = FioValueLists.ParseBool(f, Required(f, v)) },
        ["clat_percentiles"] = (s, v, f) => s.O = s.O with { ClatPercentiles = FioValueLists.ParseBool(f, Required(f, v)) },
        ["lat_percentiles"] = (s, v, f) => s.O = s.O with { LatPercentiles = FioValueLists.ParseBool(f, Required(f, v)) },
        ["percentile_list"] = (s, v, f) => s.O = s.O with { Percentiles = FioValueLists.ParsePercentileList(f, Required(f, v)) },
        ["significant_figures"] = (s, v, f) => s.O = s.O with { SignificantFigures = (int)FioValues.ParseInteger(f, Required(f, v), 1, 10) },
        ["bwavgtime"] = (s, v, f) => s.O = s.O with { BwAverageMs = Milliseconds(f, v), BwAverageGiven = true },
        ["iopsavgtime"] = (s, v, f) => s.O = s.O with { IopsAverageMs = Milliseconds(f, v), IopsAverageGiven = true },
        ["write_lat_log"] = (s, v, f) => s.O = s.O with { Logs = s.O.Logs with { LatPrefix = LogPrefix(f, v) } },
        ["write_bw_log"] = (s, v, f) => s.O = s.O with { Logs = s.O.Logs with { BwPrefix = LogPrefix(f, v) } },
        ["write_iops_log"] = (s, v, f) => s.O = s.O with { Logs = s.O.Logs with { IopsPrefix = LogPrefix(f, v) } },
        ["log_avg_msec"] = (s, v, f) => s.O = s.O with { Logs = s.O.Logs with { AverageMs = (int)FioValues.ParseInteger(f, Required(f, v), 0, int.MaxValue) } },
        ["log_max_value"] = (s, v, f) => s.O = s.O with { Logs = s.O.Logs with { MaxValue = FioValueLists.ParseBool(f, Required(f, v)) } },
        ["log_offset"] = (s, v, f) => s.O = s.O with { Logs = s.O.Logs with { Offset = FioValueLists.ParseBool(f, Required(f, v)) } },
        ["per_job_logs"] = (s, v, f) => s.O = s.O with { Logs = s.O.Logs with { PerJob = FioValueLists.ParseBool(f, Required(f, v)) } },
        ["log_unix_epoch"] = (s, v, f) => s.O = s.O with { Logs = s.O.Logs with { UnixEpoch = FioValueLists.ParseBool(f, Required(f, v)) } },
        ["log_entries"] = (s, v, f) => s.O = s.O with { LogEntries = (int)FioValues.ParseInteger(f, Required(f, v), 1, 1 << 26) },
        ["kb_base"] = (s, v, f) => s.KbBase = Required(f, v).Trim() switch
        {
            "1024" => 1024,
            "1000" => 1000,
            _ => throw new UsageException(f, $"'{v}' is not one of 1024, 1000"),
        },
        ["unified_rw_reporting"] = (s, v, f) => OnlyDefault(f, v, "reads, writes and trims are always reported apart", "none", "0"),
        ["io_submit_mode"] = (s, v, f) => OnlyDefault(f, v, "the job thread always submits its own I/O", "inline"),
        ["disk_util"] = (s, v, f) => OnlyDefault(f, v, "pnvme's devices are not kernel block devices: there is no disk utilization to report", "0"),
        ["continue_on_error"] = (s, v, f) => OnlyDefault(f, v, "pnvme never stops a job on an error: it counts every error by kind and exits 1", "all"),
        ["fixedbufs"] = (s, v, f) => FioValueLists.ParseBool(f, v),      // pnvme's uring: engine always registers them
        ["registerfiles"] = (s, v, f) => FioValueLists.ParseBool(f, v),
        ["pract"] = (s, v, f) => s.O = s.O with { Pract = FioValueLists.ParseBool(f, v) },
        ["prchk"] = (s, v, f) => s.O = s.O with { Checks = BenchOptionParser.ParseChecks(f, Required(f, v)) },
        ["apptag"] = (s, v, f) => s.O = s.O with { AppTag = (ushort)FioValues.ParseInteger(f, Required(f, v), 0, 0xFFFF), AppTagGiven = true },
        ["apptag-mask"] = (s, v, f) => s.O = s.O with { AppTagMask = (ushort)FioValues.ParseInteger(f, Required(f, v), 0, 0xFFFF), AppTagGiven = true },
        ["storage-tag"] = (s, v, f) => s.O = s.O with { StorageTag = FioValues.ParseUnsigned(f, Required(f, v)) },
        ["poll"] = (s, v, f) => s.O = s.O with
        {
            PollMode = Required(f, v) switch
            {
                "spin" => Driver.PollMode.Spin,
                "adaptive" => Driver.PollMode.Adaptive,
                "interrupt" => Driver.PollMode.Interrupt,
                _ => throw new UsageException(f, $"'{v}' is not one of spin (poll without sleeping, the default), adaptive (spin, then sleep on the completion interrupt), interrupt (sleep whenever nothing is ready)"),
            },
        },
        ["host-pi"] = (s, v, f) => s.O = s.O with
        {
            HostPi = Required(f, v) switch
            {
                "none" => HostPi.None,
                "generate" => HostPi.Generate,
                "verify" => HostPi.Verify,
                "both" => HostPi.Both,
                _ => throw new UsageException(f, $"'{v}' is not one of generate, verify, both, none"),
            },
        },
    };

    /// <summary>The canonical names that have a handler (a test keeps them equal to the table's accepted job options).</summary>
    public static IEnumerable<string> Names => Handlers.Keys;

    public static void Apply(JobOptionState s, string name, string? value, string flag)
    {
        if (!Handlers.TryGetValue(name, out var handler))
            throw new InvalidOperationException($"option '{name}' is marked accepted in FioOptions.tsv but has no handler");
        handler(s, value, flag);
    }

    private static string Required(string flag, string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) throw new UsageException(flag, "needs a value");
        return value.Trim();
    }

    private static string NonEmpty(string flag, string? value, string what)
        => string.IsNullOrWhiteSpace(value) ? throw new UsageException(flag, $"needs {what}") : NoNul(flag, value.Trim());

    // A NUL cannot be part of a file name (the OS would see the name end there).
    private static string NoNul(string flag, string value)
        => value.Contains('\0') ? throw new UsageException(flag, "contains a NUL character; give a name without it") : value;

    private static string Name(string flag, string? value)
    {
        string name = NonEmpty(flag, value, "a name");
        if (name.Any(char.IsControl) || name.Contains('/'))
            throw new UsageException(flag, $"'{name}' must be a printable name without '/' (log files are named after it)");
        return name;
    }

    // write_*_log with no value: named after the job (resolved when the job's name is final).
    private static string LogPrefix(string flag, string? value) => string.IsNullOrWhiteSpace(value) ? "" : NoNul(flag, value.Trim());

    private static int Milliseconds(string flag, string? value)
        => (int)FioValues.ParseInteger(flag, Required(flag, value), 1, int.MaxValue);

    // fio refuses CPUs beyond those online; pnvme checks against the CPUs this process may run on
    // (taskset, cgroup cpusets), which sched_setaffinity would refuse later, mid-run.
    private static int[] CheckCpus(string flag, int[] cpus)
    {
        if (cpus.Length == 0) throw new UsageException(flag, "selects no CPU");
        int[] allowed = Queues.CoreAffinity.AllowedCpus();
        if (cpus.FirstOrDefault(c => Array.IndexOf(allowed, c) < 0, -1) is var outside and >= 0)
            throw new UsageException(flag, $"CPU {outside} is not one this process may run on; allowed: {string.Join(",", allowed)}");
        return cpus;
    }

    private static void OnlyDefault(string flag, string? value, string why, params string[] accepted)
    {
        string v = Required(flag, value);
        if (!accepted.Contains(v, StringComparer.Ordinal))
            throw new UsageException(flag, $"'{v}' is not supported: {why} (accepted: {string.Join(", ", accepted)})");
    }
}
