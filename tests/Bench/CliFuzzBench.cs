using System.Globalization;
using System.Text;
using PolledNvme.Bench.Options;

namespace PolledNvme.Tests.Bench;

/// <summary>
/// The CLI fuzzer's <c>pnvme bench</c> vectors: fio options from the option table (every accepted
/// one, the refused ones now and then), on the command line as one job or several
/// (<c>--name</c>), or in a random job file written to the fuzzer's job directory ([global] and
/// job sections, <c>include</c>, <c>${VAR}</c>, comments, garbage lines), with devices given as
/// <c>device=</c>, as fio's <c>filename=</c>/<c>directory=</c>/<c>ioengine=</c>, and fio's logs
/// whose names may lead to the image (the traps of <see cref="FuzzFiles"/>).
/// </summary>
internal sealed partial class CliFuzzVectors
{
    private static readonly FioOption[] BenchAccepted = FioOptionCatalog.All
        .Where(o => o.IsAccepted && o.Name is not ("--help" or "--cmdhelp" or "--version" or "--status-interval")).ToArray();
    private static readonly FioOption[] BenchJobOptions = BenchAccepted.Where(o => !o.IsCommandLineOnly).ToArray();
    private static readonly FioOption[] BenchRefused = FioOptionCatalog.All.Where(o => !o.IsAccepted).ToArray();
    private static readonly FioOption[] BenchRunOptions = BenchAccepted.Where(o => o.IsCommandLineOnly).ToArray();

    private static FioOption PickOf(Random r, FioOption[] options) => options[r.Next(options.Length)];

    private static readonly (string[] Good, string[] Bad) Percents = (["10%", "25%", "50%", "100%"], ["0%", "150%", "-5%", "x%"]);

    private void Bench(Random r, List<string> args)
    {
        switch (_clean ? r.Next(4) : r.Next(10))
        {
            case 0 or 1 or 4 or 5 or 6:
                CommandLineJob(r, args);
                break;
            case 2 or 7 or 8:
                JobFile(r, args);
                break;
            case 3:
                CommandLineJobs(r, args);
                break;
            default:
                args.Add(Pick(r, ["--version", "--help", "--cmdhelp", "--cmdhelp=bs", "--cmdhelp=bogus", "--parse-only", "--readonly"]));
                if (r.Next(2) == 0) CommandLineJob(r, args);
                break;
        }
    }

    // One job on the command line: a device, a short runtime, options in both spellings.
    private void CommandLineJob(Random r, List<string> args)
    {
        // Nearly always a device and a short run; the fuzzer's stop request bounds the rest.
        if (r.Next(40) != 0) BenchDevice(r, args);
        if (r.Next(4) != 0) Flag(r, args, "runtime", Choose(r, Times));
        int count = r.Next(0, 6);
        for (int i = 0; i < count; i++)
            BenchOption(r, args, r.Next(3) == 0 ? PickOf(r, BenchRunOptions) : PickOption(r));
    }

    // fio's --name: each starts a job; the options before the first are global.
    private void CommandLineJobs(Random r, List<string> args)
    {
        BenchDevice(r, args);
        Flag(r, args, "runtime", Choose(r, Times));
        int jobs = r.Next(1, 4);
        for (int j = 0; j < jobs; j++)
        {
            args.Add($"--name={Pick(r, ["a", "b", "c", "global", "trap"])}");
            int count = r.Next(0, 4);
            for (int i = 0; i < count; i++) BenchOption(r, args, PickOption(r));
            if (r.Next(3) == 0) args.Add(Pick(r, ["--stonewall", "--new_group", "--group_reporting"]));
        }
    }

    private FioOption PickOption(Random r) => !_clean && r.Next(15) == 0 ? PickOf(r, BenchRefused) : PickOf(r, BenchJobOptions);

    private void BenchDevice(Random r, List<string> args)
    {
        switch (r.Next(8))
        {
            case 0:
                // fio's way: a file through the kernel path, sized by the job.
                Flag(r, args, "filename", Pick(r, [_files.UringFile, Path.Combine(_files.OutputDirectory, "fio-file"), _files.Image, _files.Directory, _files.Missing + "/f"]));
                if (r.Next(2) == 0) Flag(r, args, "size", Choose(r, Sizes));
                _deviceIsUringFile = true;
                break;
            case 1:
                Flag(r, args, "ioengine", Choose(r, (["null", "libaio", "io_uring", "psync", "pnvme"], ["spdk", "windowsaio", ""])));
                if (r.Next(2) == 0) Flag(r, args, "directory", Pick(r, [_files.OutputDirectory, _files.Missing]));
                Flag(r, args, "size", Choose(r, Sizes));
                break;
            default:
                Flag(r, args, "device", Device(r));
                break;
        }
    }

    private void BenchOption(Random r, List<string> args, FioOption option)
    {
        string name = option.Name.TrimStart('-');
        if (option.Aliases.Count > 0 && r.Next(5) == 0) name = Pick(r, [.. option.Aliases]);
        if (!option.TakesValue)
            args.Add(r.Next(6) switch { 0 => $"--{name}=0", 1 => $"--{name}=1", 2 when !_clean => $"--{name}={Pick(r, Garbage)}", _ => $"--{name}" });
        else
            Flag(r, args, name, BenchValue(r, option.Name.TrimStart('-')));
    }

    /// <summary>A random job file (and sometimes a file it includes) in the fuzzer's job directory; its path goes on the command line.</summary>
    private void JobFile(Random r, List<string> args)
    {
        string path = Path.Combine(_files.JobDirectory, $"job-{_index % 4}.fio");
        string include = Path.Combine(_files.JobDirectory, $"inc-{_index % 4}.fio");
        var text = new StringBuilder();
        var included = new StringBuilder();
        text.AppendLine(Pick(r, ["; a fio job file", "# generated", ""]));
        text.AppendLine("[global]");
        var device = new List<string>();
        BenchDevice(r, device);
        foreach (var line in AsJobLines(device)) text.AppendLine(line);
        text.AppendLine($"runtime={Choose(r, Times)}");
        int sections = r.Next(1, 4);
        for (int s = 0; s < sections; s++)
        {
            text.AppendLine(!_clean && r.Next(10) == 0 ? Pick(r, ["[", "[]", "[global", "job]"]) : $"[{Pick(r, ["job", "reader", "writer", "trap", "global"])}{s}]");
            int count = r.Next(0, 5);
            for (int i = 0; i < count; i++)
            {
                var option = PickOption(r);
                var line = new List<string>();
                BenchOption(r, line, option);
                foreach (var l in AsJobLines(line))
                    text.AppendLine(r.Next(6) == 0 ? $"{l}   ; {Pick(r, ["a comment", "# more"])}" : l);
            }
            if (r.Next(5) == 0)
            {
                text.AppendLine($"include {(r.Next(2) == 0 ? Path.GetFileName(include) : include)}");
                included.AppendLine($"iodepth={Choose(r, (["1", "4"], ["0"]))}");
                if (!_clean && r.Next(4) == 0) included.AppendLine("[section]");
            }
            if (r.Next(8) == 0) text.AppendLine($"bs=${{{Pick(r, ["PNVME_FUZZ_UNSET", "HOME"])}}}");
            if (!_clean && r.Next(10) == 0) text.AppendLine(Pick(r, Garbage));
        }
        File.WriteAllText(path, text.ToString());
        File.WriteAllText(include, included.ToString());
        args.Add(r.Next(10) == 0 && !_clean ? Pick(r, [_files.Directory, _files.Missing, "-"]) : path);
        // Run options stay on the command line (a job file refuses them); job options there are globals.
        int count2 = r.Next(0, 3);
        for (int i = 0; i < count2; i++)
            BenchOption(r, args, r.Next(2) == 0 ? PickOf(r, BenchRunOptions) : PickOption(r));
    }

    // "--bs=4k" or "--bs" "4k" as the job file's "bs=4k"; "--time_based" as "time_based".
    private static IEnumerable<string> AsJobLines(List<string> flags)
    {
        for (int i = 0; i < flags.Count; i++)
        {
            string flag = flags[i].TrimStart('-');
            if (flag.Contains('=') || i + 1 >= flags.Count || flags[i + 1].StartsWith("--", StringComparison.Ordinal))
                yield return flag;
            else
                yield return $"{flag}={flags[++i]}";
        }
    }

    private string BenchValue(Random r, string name) => name switch
    {
        "rw" or "readwrite" => Choose(r, (["read", "write", "randread", "randwrite", "rw", "readwrite", "randrw", "trim", "randtrim", "trimwrite", "randtrimwrite"], ["READ", "", "read:4k"])),
        "rwmixread" or "rwmixwrite" => Choose(r, (["0", "30", "50", "100"], ["101", "-1", "x"])),
        "bs" or "blocksize" => Choose(r, (["512", "4k", "8k", "64k", "4k,8k", "4k,8k,16k", ",8k"], ["1m", "16m", "3", "0", "4k:8k", "-4k"])),
        "bsrange" => Choose(r, (["4k-16k", "512-4k", "4k-16k,8k-8k"], ["16k-4k", "4k-", "x"])),
        "bssplit" => Choose(r, (["4k/50:8k/50", "4k/100", "4k/30:64k/70,8k", "4k/:8k/"], ["4k/60:8k/60", "x/1", "4k/-1"])),
        "ba" or "blockalign" => Choose(r, (["4k", "512", "8k"], ["3", "0"])),
        "iodepth" => Choose(r, (["1", "2", "8", "32"], ["256", "4096", "0", "-1", "99999"])),
        "numjobs" => Choose(r, (["1", "2"], ["3", "17", "0", "257"])),
        "size" or "offset" => r.Next(4) == 0 ? Choose(r, Percents) : Choose(r, Sizes),
        "io_size" or "io_limit" or "offset_increment" or "offset_align" => Choose(r, Sizes),
        "number_ios" or "loops" => Choose(r, (["1", "2", "10", "100"], ["0", "-1", "99999999999999999999"])),
        "ramp_time" or "startdelay" => Choose(r, Times),
        "runtime" => Choose(r, Times),
        "randseed" => Choose(r, Tags),
        "random_distribution" => Choose(r, (["random", "zipf:1.2", "pareto:0.5", "normal:10", "zoned:50/10:50/90", "zoned_abs:50/64k:50/64k"], ["zipf:0", "gauss", "zoned:60/10:50/90", "zoned_abs:100/8191p"])),
        "percentage_random" => Choose(r, (["0", "50", "100", "50,20"], ["101", "x"])),
        "rate" => Choose(r, (["1m", "10m,1m", "100k"], ["-1", "x", "8191p"])),
        "rate_iops" => Choose(r, (["100", "1000,10", "1"], ["-1", "x"])),
        "rate_process" => Choose(r, (["linear", "poisson"], ["gamma"])),
        "percentile_list" => Choose(r, (["50:99", "1:5:99.9", "99.99"], ["101", "x:y", ""])),
        "cpus_allowed" => Choose(r, (["0", "0-1", "0,1"], ["99", "5-1", "x", "1023"])),
        "cpumask" => Choose(r, (["1", "3", "0x1"], ["0", "0x8000000000000000"])),
        "cpus_allowed_policy" => Choose(r, (["shared", "split"], ["scatter"])),
        "write_lat_log" or "write_bw_log" or "write_iops_log" => LogPrefix(r),
        "log_avg_msec" or "bwavgtime" or "iopsavgtime" => Choose(r, (["0", "10", "500"], ["-1", "x"])),
        "direct" or "buffered" => Choose(r, (["0", "1"], ["2", "x"])),
        "filename" => Pick(r, [_files.UringFile, Path.Combine(_files.OutputDirectory, "fio-file"), _files.Directory, "a:b", "mem:size=1M"]),
        "directory" => Pick(r, [_files.OutputDirectory, _files.Missing, "a:b"]),
        "ioengine" => Choose(r, (["null", "libaio", "io_uring", "psync", "pnvme"], ["spdk", ""])),
        "device" => Device(r),
        "output-format" => Choose(r, (["normal", "json", "json+", "normal,json", "json,json+"], ["xml", "JSON", "terse"])),
        "output" => OutputPath(r, ".txt"),
        "plot" => OutputPath(r, r.Next(2) == 0 ? ".png" : ".svg"),
        "section" => Pick(r, ["job0", "reader1", "nothing"]),
        "max-jobs" => Choose(r, (["1", "4", "64"], ["0", "x"])),
        "eta" => Choose(r, (["never", "auto"], ["always", "sometimes"])),
        "kb_base" => Choose(r, (["1024", "1000"], ["10"])),
        "significant_figures" => Choose(r, (["4", "1"], ["0", "11"])),
        "log_entries" => Choose(r, (["16", "1024"], ["0"])),
        "prchk" => Choose(r, (["guard", "guard,app,ref", "none", "app,ref", "ref"], ["storage", "bogus", "", "guard,,ref"])),
        "apptag" or "apptag-mask" or "storage-tag" => Choose(r, Tags),
        "host-pi" => Choose(r, (["generate", "verify", "both", "none"], ["maybe"])),
        "name" => Choose(r, (["job1", "trap", "\u00e9t\u00e9", "x y"], ["", "a\u0001b", "a/b"])),
        "description" => Pick(r, ["a job", "", "\u00e9t\u00e9"]),
        // The rest take 0/1 (stats, disable_*, log_offset...) or text: mostly a value that works.
        _ => _clean || r.Next(3) != 0 ? Pick(r, ["0", "1"]) : Pick(r, Garbage),
    };

    // A log's name prefix: mostly in the output directory; often the traps whose fio names are the
    // image (a symlink in the root, or in the working directory for a job-name prefix); a directory.
    private string LogPrefix(Random r) => (_clean ? 9 : r.Next(10)) switch
    {
        0 or 1 => _files.LogTrap,
        2 => "",                                   // named after the job: in the working directory (trap_lat.1.log is the image)
        3 => _files.Directory,
        4 => Path.Combine(_files.Missing, "log"),
        _ => Path.Combine(_files.OutputDirectory, $"log{r.Next(3)}"),
    };
}
