using System.Globalization;
using PolledNvme.Bench.Options;
using PolledNvme.Bench.Tools;

namespace PolledNvme.Tests.Bench;

/// <summary>
/// The files a CLI fuzz run works on (all under one temp root): an emulated image with its format
/// record, a file for the kernel path, input files, a directory, a path that does not exist, and
/// other spellings of the image (symlink, relative path, hard link) that outputs must never be
/// allowed to name.
/// </summary>
/// <param name="JobDirectory">Where the generator writes its job files.</param>
/// <param name="LogTrap">A log name prefix whose fio log file (<c>PREFIX_lat.1.log</c>, ...) is a symlink to the image.</param>
/// <param name="WorkingDirectory">The fuzzer's working directory, where logs named after a job go (<c>trap_lat.1.log</c> there is the image too).</param>
internal sealed record FuzzFiles(string Directory, string Image, string UringFile, string Data, string Metadata,
    string OutputDirectory, string Missing, string ImageSymlink, string ImageRelative, string ImageHardLink,
    string JobDirectory, string LogTrap, string WorkingDirectory)
{
    /// <summary>The fio log kinds, as in their file names: every one of them a trap.</summary>
    public static readonly string[] LogKinds = ["lat", "slat", "clat", "bw", "iops"];

    /// <summary>The emulated device string the image was laid out with.</summary>
    public string ImageDevice => $"emu:{Image},lbads=4096,ms=8,pi=1,size=1M";
}

/// <summary>One fuzz vector: the command line and what it finds on stdin.</summary>
internal sealed record CliFuzzVector(string[] Args, byte[] Stdin);

/// <summary>
/// Random pnvme command lines for the CLI fuzzer: drawn from the real commands, their options
/// (the nvme-cli tools' own option tables, so a new option is fuzzed at once), short letters and
/// values (sizes, counts, tags, opcodes, lists, device strings with random keys, paths), written
/// in every form nvme-cli's grammar takes (<c>--opt=v</c>, <c>--opt v</c>, <c>-opt=v</c>, prefixes,
/// <c>-s v</c>, <c>-sv</c>, bundled flags, the device positional, after <c>--</c> or as
/// <c>--device</c>), then mutated: missing values, duplicates, huge, negative and garbage
/// numbers, unicode, directories and missing paths, dropped and swapped tokens. Vector <c>i</c>
/// of seed <c>s</c> is always the same, so a failure is reproduced from the seed and index it prints.
/// </summary>
internal sealed partial class CliFuzzVectors(FuzzFiles files)
{
    /// <summary>The nvme-cli-style tools, by name, with their option tables.</summary>
    private static readonly Dictionary<string, ToolSpec> Tools = new ToolSpec[]
    {
        IdCtrlCommand.Spec, IdNsCommand.Spec, NvmIdNsCommand.Spec, FormatCommand.Spec,
        BlockIoCommand.ReadSpec, BlockIoCommand.WriteSpec, BlockIoCommand.CompareSpec,
        RangeCommands.VerifySpec, RangeCommands.WriteZeroesSpec, RangeCommands.FlushSpec, DsmCommand.Spec,
        LogCommands.GetLogSpec, LogCommands.SmartLogSpec, LogCommands.ErrorLogSpec,
        FeatureCommands.GetSpec, FeatureCommands.SetSpec, PassthruCommand.IoSpec, PassthruCommand.AdminSpec,
    }.ToDictionary(s => s.Name, StringComparer.Ordinal);

    /// <summary>Every command the generator draws (a test compares it with pnvme's own list).</summary>
    public static IReadOnlyList<string> Covered { get; } = [.. Tools.Keys, "bench", "crc", "list", "discover"];

    /// <summary>The option table of an nvme-cli-style tool, or null.</summary>
    public static ToolSpec? SpecOf(string command) => Tools.GetValueOrDefault(command);

    private static readonly string[] RefusedCommands = [.. NvmeCliCommands.Refused.Keys];
    private static readonly string[] Garbage = ["", "-", "--", "---", "=", "--=1", "x", "-1", "0", "1e9", "NaN", "\u00e9t\u00e9", "\u202e4k", "\u0000", "4\u043a", "\uff11\uff12", "\ud83d\udca5", " ", "\t", "%s%n", "$(id)", "..", "/", new string('9', 40), new string('a', 300)];
    private static readonly int[] StdinLengths = [0, 0, 8, 512, 4096, 4104, 8192, 32768, 65536];

    private readonly FuzzFiles _files = files;

    // Whether this vector's device is the fuzzer's image: a hard link to it is then the device's
    // image under another name (refused). Under another device, a hard link is just a file the
    // command line names, and writing it is what was asked.
    private bool _deviceIsImage;

    // Likewise the kernel path's file: it is the device's data only under uring:.
    private bool _deviceIsUringFile;

    // One vector in three is drawn clean: a working device, values from the good pools, no
    // mutation, so that commands get past their checks to the I/O often enough to be fuzzed there.
    private bool _clean;

    // What a clean command reads from stdin, when it does (else a random length).
    private int? _stdinLength;

    // The vector's index: job files are named by it, so a vector re-generated writes the same file.
    private int _index;

    /// <summary>Vector <paramref name="index"/> of <paramref name="seed"/>.</summary>
    public CliFuzzVector Generate(int seed, int index)
    {
        // Not HashCode.Combine: its hashes change from process to process, and a vector must be the same in every run.
        var r = new Random(unchecked(seed * 1_000_003 + index));
        _index = index;
        _deviceIsImage = false;
        _deviceIsUringFile = false;
        _clean = r.Next(3) == 0;
        _stdinLength = null;
        var args = new List<string>();
        string command = r.Next(50) switch
        {
            0 => Pick(r, Garbage),
            1 => Pick(r, RefusedCommands),
            _ => Covered[r.Next(Covered.Count)],
        };
        args.Add(command);
        switch (command)
        {
            case "bench": Bench(r, args); break;
            case "crc": Crc(r, args); break;
            case "list": List(r, args); break;
            case "discover": Discover(r, args); break;
            default:
                if (Tools.TryGetValue(command, out var spec)) Tool(r, spec, args);
                else if (r.Next(2) == 0) args.Add(Device(r, controllerOnly: true));
                break;
        }
        if (!_clean)
            Mutate(r, args);
        var stdin = new byte[_stdinLength ?? (r.Next(3) == 0 ? 0 : StdinLengths[r.Next(StdinLengths.Length)])];
        r.NextBytes(stdin);
        return new CliFuzzVector([.. args], stdin);
    }

    private void List(Random r, List<string> args)
    {
        if (r.Next(3) == 0) Flag(r, args, Pick(r, ["output-format", "o"]), Choose(r, (["normal", "json"], ["xml"])));
        if (r.Next(10) == 0) Flag(r, args, "device", Device(r, controllerOnly: true));
    }

    /// <summary>
    /// <c>discover</c> command lines that reach no network: the only addresses are the loopback's,
    /// on port 1 (nothing listens: refused at once), or strings refused before any connect. Never
    /// mutated, since a mutated address could be a host name (a DNS query) or another machine.
    /// </summary>
    private void Discover(Random r, List<string> args)
    {
        _clean = true;
        string address = Pick(r, ["127.0.0.1", "[::1]"]);
        string keys = r.Next(3) != 0 ? "" : Pick(r, [",hostnqn=nqn.2024-01.io.example:fuzz", ",hdgst=1,ddgst=1", ",kato=0", ",bogus=1", ",ddgst=2",
            ",hostnqn=host", ",hostid=x", ",kato=-1", ",hdgst=1,hdgst=0", "," + Pick(r, Garbage)]);
        switch (r.Next(6))
        {
            case 0 or 1:
                args.Add($"tcp:{address}:1{Pick(r, ["", "", "/nqn.2014-08.org.nvmexpress.discovery", "/", "/x"])}{keys}");
                break;
            case 2:
                Flag(r, args, "device", $"tcp:{address}:{Pick(r, ["1", "0", "70000", "x", ""])}{keys}");
                break;
            case 3:
                args.AddRange(["-t", Pick(r, ["tcp", "tcp", "rdma", "fc", ""]), "-a", address.Trim('[', ']'), "-s", Pick(r, ["1", "1", "0", "65536", "x"])]);
                if (r.Next(3) == 0) args.AddRange(["-q", Pick(r, ["nqn.2024-01.io.example:host", "host", ""])]);
                if (r.Next(3) == 0) args.AddRange(["-I", Pick(r, ["4c4c4544-0039-3510-804c-c6c04f4e3632", "x"])]);
                if (r.Next(4) == 0) args.Add($"tcp:{address}:1");   // both forms: refused
                break;
            case 4:
                args.Add(Device(r, controllerOnly: true));   // not an NVMe/TCP address: refused
                _clean = true;
                break;
            default:
                if (r.Next(2) == 0) args.AddRange(["-s", "1"]);   // options of the -a form without -a
                break;
        }
        if (r.Next(3) == 0) Flag(r, args, Pick(r, ["output-format", "o"]), Pick(r, ["normal", "json", "binary", "xml"]));
    }

    /// <summary>An nvme-cli-style command line: the device somewhere, options of the command's own table in any spelling.</summary>
    private void Tool(Random r, ToolSpec spec, List<string> args)
    {
        if (_clean && spec.Name is "read" or "write" or "compare" or "verify" or "write-zeroes" && r.Next(2) == 0)
        {
            BlockCommand(r, spec, args);
            return;
        }
        string device = Device(r, controllerOnly: true);
        var options = new List<string>();
        // The options that take a command past its first checks, usually present; then any others.
        foreach (string name in Essential(spec.Name))
        {
            if (r.Next(5) != 0 && spec.Options.FirstOrDefault(o => o.Long == name) is { } o)
                Option(r, spec, o, options);
        }
        int count = r.Next(0, 5);
        for (int i = 0; i < count; i++)
        {
            var o = spec.Options[r.Next(spec.Options.Count)];
            // Options pnvme refuses by name end the line at once: drawn, but less often than the rest.
            bool refused = o.Help.StartsWith("not ", StringComparison.Ordinal) || o.Long is "limited-retry" or "force-unit-access";
            if (o.Long != "device" && (!refused || (!_clean && r.Next(4) == 0)))
                Option(r, spec, o, options);
        }
        if (spec.Name == "format" && r.Next(2) == 0)
            options.Add("--force");
        BundleShortFlags(r, spec, options);

        switch (_clean ? 9 + r.Next(3) : r.Next(24))
        {
            case 0: args.AddRange(options); break;                                            // no device
            case 1: args.AddRange(options); Flag(r, args, "device", device); break;           // --device only
            case 2: args.Add(device); args.AddRange(options); Flag(r, args, "device", device); break;   // both, the same
            case 3: args.Add(device); args.AddRange(options); Flag(r, args, "device", Device(r, controllerOnly: true)); break;
            case 4: args.AddRange(options); args.AddRange(["--", device]); break;             // after the end of options
            case 5 or 6 or 7: args.AddRange(options); args.Add(device); break;                // positional last
            case 8: args.AddRange(options.Take(options.Count / 2)); args.Add(device); args.AddRange(options.Skip(options.Count / 2)); break;
            default: args.Add(device); args.AddRange(options); break;                         // nvme-cli's usual order
        }
    }

    /// <summary>
    /// A block command whose options fit its device (range inside, PI options only with PI, -y
    /// matching the separate metadata), so the fuzzer reaches the command itself and its data paths.
    /// </summary>
    private void BlockCommand(Random r, ToolSpec spec, List<string> args)
    {
        (string Device, int Ms, bool Pi) target = r.Next(3) switch
        {
            0 => ("mem:size=1M", 0, false),
            1 => ("mem:pi=1,ms=8,size=1M", 8, true),
            _ => (_files.ImageDevice, 8, true),
        };
        _deviceIsImage = target.Device == _files.ImageDevice;
        int count = r.Next(8);
        var options = new List<string>();
        void Add(string name, string value) => Option(r, spec, spec.Options.First(o => o.Long == name), options, value);
        Add("start-block", r.Next(256 - count).ToString(CultureInfo.InvariantCulture));
        Add("block-count", count.ToString(CultureInfo.InvariantCulture));
        int[] prinfos = [0, 1, 4, 5, 7, 8, 12, 13, 15];
        int prinfo = target.Pi ? prinfos[r.Next(prinfos.Length)] : 0;
        bool pract = (prinfo & 8) != 0;
        if (spec.Name == "write-zeroes") prinfo &= 8;
        if (prinfo != 0) Add("prinfo", $"0x{prinfo:x}");
        if ((prinfo & 2) != 0) { Add("app-tag", "0x1234"); Add("app-tag-mask", "0xffff"); }
        if (spec.Name is "read" or "write" or "compare")
        {
            bool metadata = target.Ms > 0 && !pract;   // MS = 8 = the PI size: PRACT moves none
            if (r.Next(2) == 0) Add("data-size", ((count + 1) * 4096).ToString(CultureInfo.InvariantCulture));
            bool metadataFile = metadata && r.Next(2) == 0;
            if (metadataFile) Add("metadata", spec.Name == "read" ? OutputPath(r, ".md") : _files.Metadata);
            else if (metadata) Add("metadata-size", ((count + 1) * target.Ms).ToString(CultureInfo.InvariantCulture));
            if (r.Next(3) != 0) Add("data", spec.Name == "read" ? OutputPath(r, ".bin") : _files.Data);
            else if (spec.Name != "read") _stdinLength = (count + 1) * (4096 + (metadata && !metadataFile ? target.Ms : 0));
            if (r.Next(4) == 0) options.Add(Pick(r, ["-v", "--show-command", "-t", "--latency", "-w", "--dry-run"]));
        }
        BundleShortFlags(r, spec, options);
        args.Add(target.Device);
        args.AddRange(options);
    }

    private static string[] Essential(string command) => command switch
    {
        "read" or "write" or "compare" => ["start-block", "block-count", "data", "metadata-size", "prinfo"],
        "verify" or "write-zeroes" => ["start-block", "block-count", "prinfo"],
        "dsm" => ["slbs", "blocks", "ad"],
        "format" => ["lbaf"],
        "get-log" => ["log-id", "log-len"],
        "get-feature" => ["feature-id"],
        "set-feature" => ["feature-id", "value"],
        "io-passthru" or "admin-passthru" => ["opcode", "data-len", "namespace-id"],
        _ => [],
    };

    /// <summary>Appends <paramref name="o"/> in one of the spellings nvme-cli's grammar accepts (or nearly: prefixes may be ambiguous).</summary>
    private void Option(Random r, ToolSpec spec, CliOption o, List<string> args, string? given = null)
    {
        string longName = !_clean && r.Next(8) == 0 ? Prefix(r, o.Long) : o.Long;
        if (!o.TakesValue)
        {
            args.Add(r.Next(8) switch
            {
                0 when o.Short != '\0' => $"-{o.Short}",
                1 when o.Short != '\0' => $"-{o.Short}",
                2 => $"-{longName}",                                    // getopt_long_only: one dash, long name
                3 => $"--{longName}={Pick(r, _clean ? ["1"] : ["0", "1", "yes", ""])}",
                _ => $"--{longName}",
            });
            return;
        }
        string value = given ?? Value(r, spec.Name, o.Long);
        switch (r.Next(8))
        {
            case 0: args.Add($"--{longName}={value}"); break;
            case 1: args.Add($"-{longName}={value}"); break;
            case 2 when o.Short != '\0': args.Add($"-{o.Short}{value}"); break;          // -s0
            case 3 or 4 when o.Short != '\0': args.AddRange([$"-{o.Short}", value]); break;
            case 5: args.AddRange([$"-{longName}", value]); break;
            default: args.AddRange([$"--{longName}", value]); break;
        }
    }

    // Single-letter flags given alone may be merged into one cluster (-Hb, -vH), as getopt allows.
    private static void BundleShortFlags(Random r, ToolSpec spec, List<string> args)
    {
        if (r.Next(3) != 0) return;
        var shortFlags = spec.Options.Where(o => !o.TakesValue && o.Short != '\0').Select(o => $"-{o.Short}").ToHashSet(StringComparer.Ordinal);
        var alone = args.Where(shortFlags.Contains).ToList();
        if (alone.Count == 0 && shortFlags.Count > 1)
            alone = shortFlags.OrderBy(_ => r.Next()).Take(r.Next(2, 4)).ToList();
        if (alone.Count < 2 && r.Next(2) == 0) return;
        args.RemoveAll(alone.Contains);
        string cluster = "-" + string.Concat(alone.Select(f => f[1..]));
        // Sometimes a value option closes the cluster with its value: -Hs0.
        if (r.Next(3) == 0 && spec.Options.FirstOrDefault(o => o.TakesValue && o.Short != '\0') is { } last)
            cluster += last.Short + Pick(r, ["0", "1", "0x10", "x"]);
        args.Insert(r.Next(args.Count + 1), cluster);
    }

    // Mostly long enough to be unique; sometimes so short that it is ambiguous (--d: --data or --dry-run?).
    private static string Prefix(Random r, string name) => name[..(r.Next(4) == 0 ? r.Next(1, name.Length + 1) : Math.Max(1, name.Length - r.Next(0, 3)))];

    private void Crc(Random r, List<string> args)
    {
        // --bench alone would time the kernels for 20 s: it only appears with what makes it a usage error.
        if (r.Next(10) == 0) args.AddRange(["--bench", "--algo", "crc32c"]);
        if (r.Next(8) != 0) args.AddRange(["--algo", Pick(r, ["t10dif", "crc32c", "crc64nvme", "CRC32C", "md5", ""])]);
        if (r.Next(2) == 0) args.AddRange(["--block-size", Pick(r, ["1", "512", "4096", "4160", "1048577", "2147483647", "99999999999", "0", "-1", "x"])]);
        if (r.Next(8) != 0) args.Add(Pick(r, [_files.Image, _files.UringFile, _files.Data, _files.Directory, _files.Missing, _files.ImageSymlink, ""]));
    }

    /// <summary>A device string: a valid one, one of the image's spellings, or one with random keys.</summary>
    public string Device(Random r, bool controllerOnly = false)
    {
        switch (_clean ? r.Next(9) : r.Next(16))
        {
            case 0 or 1 or 2:
                _deviceIsImage = true;
                return _files.ImageDevice;
            case 3:
                _deviceIsImage = true;
                return $"emu:{Pick(r, [_files.Image, _files.ImageSymlink, _files.ImageRelative])}{Pick(r, ["", "", ",ro=1"])}";
            case 4:
                if (controllerOnly && r.Next(4) != 0) return "mem:size=1M";
                _deviceIsUringFile = true;
                return $"uring:{_files.UringFile}";
            case 5 or 6 or 7 or 8:
                return Pick(r, ["mem:size=1M", "mem:pi=1,ms=8,size=1M", "mem:lbads=512,ms=16,pi=2,mset=1,size=1M", "mem:lbads=4096,ms=16,pi=1,pif=2,size=1M",
                    "mem:lbads=4096,ms=16,pi=3,pil=1,pif=1,sts=16,size=1M", "null:size=4M", "null:pi=1,ms=8", "mem:mode=inline,size=1M"]);
            case 9: return Pick(r, ["pci:0000:01:00.0", "pci:zzz", "pci:", "foo:bar", "", "emu:", "uring:", $"emu:{_files.Directory}", $"emu:{_files.Missing}/ns.img", $"uring:{_files.Directory}", $"uring:{_files.Missing}", "uring:/dev/null"]);
            case 10:
                if (controllerOnly && r.Next(4) != 0) return "mem:pi=1,ms=8,size=1M";
                _deviceIsUringFile = true;
                return $"uring:{_files.UringFile},{Pick(r, ["direct=0", "direct=1", "direct=2", "size=1M", "size=2M", "size=8191p", "size=x", "bogus", "direct=0,direct=0"])}";
            default:
                // Random keys on a random scheme; a new image in the output directory when emu:.
                string scheme = Pick(r, ["mem:", "null:", "emu:", "emu:"]);
                var parts = new List<string>();
                if (scheme == "emu:") parts.Add(r.Next(3) == 0 ? Path.Combine(_files.OutputDirectory, $"new-{r.Next(4)}.img") : _files.Image);
                _deviceIsImage |= scheme == "emu:" && parts[0] == _files.Image;
                int keys = r.Next(0, 4);
                for (int i = 0; i < keys; i++)
                {
                    string key = r.Next(15) == 0 ? Pick(r, ["bogus", "", "Pi", "lbads ", "\u00e9"]) : Pick(r, EmulatedKeys);
                    string value = KeyValues.TryGetValue(key, out var values) && r.Next(6) != 0 ? Pick(r, values) : Pick(r, Garbage);
                    parts.Add(r.Next(20) == 0 ? key : $"{key}={value}");
                }
                // A new image, or the image re-laid (format=1), without a small size= would be 1 GiB or more: keep them small.
                if (scheme == "emu:" && (parts[0] != _files.Image || parts.Any(p => p.StartsWith("format", StringComparison.Ordinal))))
                {
                    parts.RemoveAll(p => p.StartsWith("size", StringComparison.Ordinal));
                    parts.Add(Pick(r, ["size=1M", "size=4M"]));
                }
                return scheme + string.Join(',', parts);
        }
    }

    /// <summary>A file a command writes: mostly a fresh one, often one it must refuse (the image by any name, its record, a directory).</summary>
    private string OutputPath(Random r, string extension) => (_clean ? 9 : r.Next(10)) switch
    {
        0 => _files.Image,
        1 => _files.Image + ".pnvmefmt",
        2 => _files.ImageSymlink,
        3 => _files.ImageRelative,
        4 => _deviceIsImage ? _files.ImageHardLink : _files.Image,
        5 => _files.Directory,
        6 => Path.Combine(_files.Missing, "out" + extension),
        7 => "/dev/null",
        8 => _deviceIsUringFile ? _files.UringFile : _files.Image,
        _ => Path.Combine(_files.OutputDirectory, $"out-{r.Next(3)}{extension}"),
    };

    /// <summary>A file a command reads: mostly the input files, sometimes the image (reading it is fine), a directory or nothing.</summary>
    private string InputPath(Random r, string which) => (_clean ? 11 : r.Next(12)) switch
    {
        0 => _files.Image,
        1 => _files.Image + ".pnvmefmt",
        2 => _files.ImageSymlink,
        3 => _files.Directory,
        4 => _files.Missing,
        5 => "",
        _ => which == "meta" ? _files.Metadata : _files.Data,
    };

    private static void Flag(Random r, List<string> args, string name, string value)
    {
        string dashes = name.Length == 1 ? "-" : "--";
        if (r.Next(2) == 0) args.Add($"{dashes}{name}={value}");
        else args.AddRange([$"{dashes}{name}", value]);
    }

    private static void Mutate(Random r, List<string> args)
    {
        int mutations = r.Next(4) == 0 ? r.Next(1, 4) : 0;
        for (int m = 0; m < mutations && args.Count > 1; m++)
        {
            int at = r.Next(1, args.Count);
            switch (r.Next(7))
            {
                case 0: args.RemoveAt(at); break;                                         // a missing value or option
                case 1: args.Insert(at, args[at]); break;                                 // a duplicate (the last one wins)
                case 2: (args[at], args[^1]) = (args[^1], args[at]); break;               // swapped order
                case 3: args.Insert(at, Pick(r, Garbage)); break;                         // garbage token (a second positional)
                case 4: args[at] = args[at] + Pick(r, ["0", "k", "=", ",", "\u00e9", "p"]); break;
                case 5: args.RemoveAt(args.Count - 1); break;                             // an option without its value
                default: args[at] = "-" + args[at].ToString(CultureInfo.InvariantCulture); break;   // negative, or one dash more
            }
        }
    }

    private static string Pick(Random r, string[] values) => values[r.Next(values.Length)];

    private string Choose(Random r, (string[] Good, string[] Bad) pool) => !_clean && r.Next(5) == 0 ? Pick(r, pool.Bad) : Pick(r, pool.Good);
}
