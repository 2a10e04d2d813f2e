using PolledNvme.Protection;
namespace PolledNvme.Bench.Options;

/// <summary>
/// Parses <c>pnvme bench</c> flags with fio's names and meanings. Checks that need the device
/// (block size multiples, PI present) are done later by <see cref="Run.BenchPlan"/>, still before any I/O.
/// </summary>
public static class BenchOptionParser
{
    /// <summary>Flags that take a value.</summary>
    public static readonly string[] ValueFlags =
    [
        "name", "device", "rw", "readwrite", "rwmixread", "rwmixwrite", "bs", "blocksize", "iodepth", "numjobs",
        "runtime", "size", "offset", "ramp_time", "randseed", "output-format", "output", "plot",
        "prchk", "apptag", "apptag-mask", "storage-tag", "host-pi",
    ];

    /// <summary>Flags that take no value.</summary>
    public static readonly string[] SwitchFlags = ["time_based", "pract", "pin", "progress", "verify", "verify_only"];

    /// <summary>Parses <paramref name="args"/> (the arguments after <c>bench</c>).</summary>
    /// <exception cref="UsageException">A flag is unknown, misses its value, or has a bad value.</exception>
    public static BenchOptions Parse(IReadOnlyList<string> args)
    {
        var a = new ArgReader(args, ValueFlags, SwitchFlags, switchesTakingWords: ["verify"]);
        var o = new BenchOptions();

        if (a.Get("name") is { } name)
        {
            if (name.Length == 0 || name.Any(char.IsControl))
                throw new UsageException("--name", "must be a non-empty printable name");
            o = o with { Name = name };
        }
        if (a.Get("device") is { } device)
        {
            if (device.Length == 0) throw new UsageException("--device", "must not be empty");
            o = o with { Device = device };
        }
        if (a.Given("rw") && a.Given("readwrite")) throw new UsageException("--readwrite", "same as --rw, give one");
        if ((a.Get("rw") ?? a.Get("readwrite")) is { } rw)
            o = o with { Pattern = ParsePattern(a.Given("rw") ? "--rw" : "--readwrite", rw) };
        if (a.Given("rwmixread") && a.Given("rwmixwrite")) throw new UsageException("--rwmixwrite", "give either --rwmixread or --rwmixwrite");
        if (a.Get("rwmixread") is { } mix)
            o = o with { ReadMixPercent = (int)FioValues.ParseInteger("--rwmixread", mix, 0, 100) };
        if (a.Get("rwmixwrite") is { } mixw)
            o = o with { ReadMixPercent = 100 - (int)FioValues.ParseInteger("--rwmixwrite", mixw, 0, 100) };
        if (a.Given("bs") && a.Given("blocksize")) throw new UsageException("--blocksize", "same as --bs, give one");
        if ((a.Get("bs") ?? a.Get("blocksize")) is { } bs)
        {
            string flag = a.Given("bs") ? "--bs" : "--blocksize";
            if (bs.Contains(',') || bs.Contains(':'))
                throw new UsageException(flag, "one size for reads and writes (fio's per-direction and ranged forms are not supported)");
            long bytes = FioValues.ParseSize(flag, bs);
            if (bytes < 512 || bytes > 16 * 1024 * 1024)
                throw new UsageException(flag, $"{bytes} bytes is out of range [512, 16m]");
            o = o with { BlockSizeBytes = (int)bytes };
        }
        if (a.Get("iodepth") is { } qd)
            o = o with { IoDepth = (int)FioValues.ParseInteger("--iodepth", qd, 1, 4096) };
        if (a.Get("numjobs") is { } nj)
            o = o with { NumJobs = (int)FioValues.ParseInteger("--numjobs", nj, 1, 256) };

        TimeSpan? runtime = null;
        if (a.Get("runtime") is { } rt)
        {
            runtime = FioValues.ParseTime("--runtime", rt);
            if (runtime <= TimeSpan.Zero) throw new UsageException("--runtime", "must be greater than 0");
        }
        if (a.Get("size") is { } size)
        {
            long bytes = FioValues.ParseSize("--size", size);
            if (bytes <= 0) throw new UsageException("--size", "must be greater than 0");
            o = o with { SizeBytes = bytes };
        }
        if (a.Get("offset") is { } offset)
            o = o with { OffsetBytes = FioValues.ParseSize("--offset", offset) };
        // fio: without --time_based a job ends when --size bytes are done (or at --runtime).
        // Our default job (no --size) is time based, 10 s.
        bool timeBased = a.Given("time_based") ? a.Has("time_based") : o.SizeBytes is null;
        if (timeBased && runtime is null) runtime = TimeSpan.FromSeconds(10);
        o = o with { TimeBased = timeBased, Runtime = runtime };
        if (a.Get("ramp_time") is { } ramp)
            o = o with { RampTime = FioValues.ParseTime("--ramp_time", ramp) };
        if (a.Get("randseed") is { } seed)
            o = o with { Seed = FioValues.ParseUnsigned("--randseed", seed) };
        if (a.Given("verify"))
        {
            string verify = a.Get("verify") ?? "pattern";
            o = o with
            {
                Verify = verify switch
                {
                    "pattern" or "lba" => true,
                    "0" => false,
                    _ => throw new UsageException("--verify", $"'{verify}' is not supported: use --verify (=pattern: an LBA- and seed-derived pattern; PI is checked by --prchk/--host-pi) or --verify=0"),
                },
            };
        }
        if (a.Has("verify_only"))
        {
            if (a.Get("verify") == "0")
                throw new UsageException("--verify_only", "checks the --verify pattern; it cannot go with --verify=0");
            // fio: the workload is not run; the region is read back once, in order, and checked.
            o = o with { Verify = true, VerifyOnly = true, Pattern = RwPattern.Read };
            if (!a.Given("time_based")) o = o with { TimeBased = false, Runtime = runtime == TimeSpan.FromSeconds(10) && !a.Given("runtime") ? null : runtime };
        }
        if (a.Get("output-format") is { } fmt)
        {
            o = o with
            {
                Format = fmt switch
                {
                    "normal" => OutputFormat.Normal,
                    "json" => OutputFormat.Json,
                    _ => throw new UsageException("--output-format", $"'{fmt}' is not one of normal, json"),
                },
            };
        }
        if (a.Get("output") is { } output)
        {
            if (output.Length == 0) throw new UsageException("--output", "needs a file name");
            o = o with { OutputPath = output };
        }
        if (a.Get("plot") is { } plot)
        {
            if (!plot.EndsWith(".png", StringComparison.OrdinalIgnoreCase) && !plot.EndsWith(".svg", StringComparison.OrdinalIgnoreCase))
                throw new UsageException("--plot", $"'{plot}' must end in .png or .svg");
            o = o with { PlotPath = plot };
        }

        o = o with { Pract = a.Has("pract") };
        if (a.Get("prchk") is { } prchk) o = o with { Checks = ParseChecks(prchk) };
        if (a.Get("apptag") is { } apptag)
            o = o with { AppTag = (ushort)FioValues.ParseInteger("--apptag", apptag, 0, 0xFFFF), AppTagGiven = true };
        if (a.Get("apptag-mask") is { } mask)
            o = o with { AppTagMask = (ushort)FioValues.ParseInteger("--apptag-mask", mask, 0, 0xFFFF), AppTagGiven = true };
        if (a.Get("storage-tag") is { } stag)
            o = o with { StorageTag = FioValues.ParseUnsigned("--storage-tag", stag) };
        if (a.Get("host-pi") is { } hostPi)
        {
            o = o with
            {
                HostPi = hostPi switch
                {
                    "none" => Options.HostPi.None,
                    "generate" => Options.HostPi.Generate,
                    "verify" => Options.HostPi.Verify,
                    "both" => Options.HostPi.Both,
                    _ => throw new UsageException("--host-pi", $"'{hostPi}' is not one of generate, verify, both, none"),
                },
            };
        }
        if (o.Pract && o.HostPi is { } hp && (hp & Options.HostPi.Generate) != 0)
            throw new UsageException("--pract", "the controller would overwrite the PI that --host-pi generate computes; give one of them");
        if (a.Given("pin")) o = o with { Pin = a.Has("pin") };
        if (a.Given("progress")) o = o with { Progress = a.Has("progress") };
        return o;
    }

    /// <summary>Parses a <c>--rw</c> value (fio's names and aliases).</summary>
    public static RwPattern ParsePattern(string flag, string text) => text switch
    {
        "read" => RwPattern.Read,
        "write" => RwPattern.Write,
        "randread" => RwPattern.RandRead,
        "randwrite" => RwPattern.RandWrite,
        "rw" or "readwrite" => RwPattern.ReadWrite,
        "randrw" => RwPattern.RandReadWrite,
        _ => throw new UsageException(flag, $"'{text}' is not one of read, write, randread, randwrite, rw, randrw"),
    };

    /// <summary>Parses a <c>--prchk</c> list such as <c>guard,app,ref,storage</c> (or <c>none</c>).</summary>
    public static PiChecks ParseChecks(string text)
    {
        if (text == "none") return PiChecks.None;
        var checks = PiChecks.None;
        foreach (var part in text.Split(','))
        {
            checks |= part.Trim().ToLowerInvariant() switch
            {
                "guard" => PiChecks.Guard,
                "app" or "apptag" => PiChecks.ApplicationTag,
                "ref" or "reftag" => PiChecks.ReferenceTag,
                "storage" or "stc" => PiChecks.StorageTag,
                _ => throw new UsageException("--prchk", $"'{part}' is not one of guard, app, ref, storage, none"),
            };
        }
        return checks;
    }
}
