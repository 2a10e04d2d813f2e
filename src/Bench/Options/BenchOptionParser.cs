using PolledNvme.Protection;

namespace PolledNvme.Bench.Options;

/// <summary>
/// Parsing helpers of <c>pnvme bench</c> options; <see cref="BenchArguments"/> reads whole command
/// lines and job files. Checks that need the device (block size multiples, PI present) are done
/// later by <see cref="Run.BenchPlan"/>, still before any I/O.
/// </summary>
public static class BenchOptionParser
{
    /// <summary>Parses a command line that defines one job (no job files, at most one --name) and returns its options.</summary>
    /// <exception cref="UsageException">A flag is unknown, misses its value, or has a bad value.</exception>
    public static BenchOptions Parse(IReadOnlyList<string> args)
    {
        var setup = BenchArguments.Parse(args);
        if (setup.Info is not null)
            throw new UsageException(args.FirstOrDefault(a => a.StartsWith('-')) ?? "bench", "prints information; it defines no job");
        if (setup.Jobs.Count != 1)
            throw new UsageException("--name", $"this defines {setup.Jobs.Count} jobs; one was expected");
        return setup.Jobs[0].Options;
    }

    /// <summary>Parses an <c>rw</c> value (fio's names and aliases).</summary>
    public static RwPattern ParsePattern(string flag, string text)
    {
        string t = text.Trim();
        if (t.Contains(':'))
            throw new UsageException(flag, $"'{t}': the ':N' offset modifier (fio's rw_sequencer) is not supported");
        return t switch
        {
            "read" => RwPattern.Read,
            "write" => RwPattern.Write,
            "randread" => RwPattern.RandRead,
            "randwrite" => RwPattern.RandWrite,
            "rw" or "readwrite" => RwPattern.ReadWrite,
            "randrw" => RwPattern.RandReadWrite,
            "trim" => RwPattern.Trim,
            "randtrim" => RwPattern.RandTrim,
            "trimwrite" => RwPattern.TrimWrite,
            "randtrimwrite" => RwPattern.RandTrimWrite,
            _ => throw new UsageException(flag, $"'{t}' is not one of read, write, randread, randwrite, rw, randrw, trim, randtrim, trimwrite, randtrimwrite"),
        };
    }

    /// <summary>fio's name of a pattern.</summary>
    public static string PatternName(RwPattern p) => p switch
    {
        RwPattern.Read => "read",
        RwPattern.Write => "write",
        RwPattern.RandRead => "randread",
        RwPattern.RandWrite => "randwrite",
        RwPattern.ReadWrite => "rw",
        RwPattern.RandReadWrite => "randrw",
        RwPattern.Trim => "trim",
        RwPattern.RandTrim => "randtrim",
        RwPattern.TrimWrite => "trimwrite",
        _ => "randtrimwrite",
    };

    /// <summary>Parses a <c>--prchk</c> list such as <c>guard,app,ref,storage</c> (or <c>none</c>).</summary>
    public static PiChecks ParseChecks(string flag, string text)
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
                _ => throw new UsageException(flag, $"'{part}' is not one of guard, app, ref, storage, none"),
            };
        }
        return checks;
    }
}
