using System.Globalization;
using PolledNvme.Bench.Options;

namespace PolledNvme.Tests.Bench;

/// <summary>
/// The files a CLI fuzz run works on (all under one temp root): an emulated image with its format
/// record, a file for the kernel path, input files, a directory, a path that does not exist, and
/// other spellings of the image (symlink, relative path, hard link) that outputs must never be
/// allowed to name.
/// </summary>
internal sealed record FuzzFiles(string Directory, string Image, string UringFile, string Data, string Metadata,
    string OutputDirectory, string Missing, string ImageSymlink, string ImageRelative, string ImageHardLink)
{
    /// <summary>The emulated device string the image was laid out with.</summary>
    public string ImageDevice => $"emu:{Image},lbads=4096,ms=8,pi=1,size=1M";
}

/// <summary>
/// Random pnvme command lines for the CLI fuzzer: drawn from the real commands, flag names,
/// short aliases and values (sizes, counts, tags, device strings with random keys, paths), then
/// mutated: missing values, duplicates, huge, negative and garbage numbers, unicode, directories
/// and missing paths, dropped and swapped tokens. Vector <c>i</c> of seed <c>s</c> is always the
/// same command line, so a failure is reproduced from the seed and index it prints.
/// </summary>
internal sealed class CliFuzzVectors(FuzzFiles files)
{
    private static readonly string[] Commands = ["bench", "id-ctrl", "id-ns", "list", "format", "read", "write", "write-zeroes", "dsm", "crc"];
    private static readonly string[] Garbage = ["", "-", "--", "---", "=", "--=1", "x", "-1", "0", "1e9", "NaN", "\u00e9t\u00e9", "\u202e4k", "\u0000", "4\u043a", "\uff11\uff12", "\ud83d\udca5", " ", "\t", "%s%n", "$(id)", "..", "/", new string('9', 40), new string('a', 300)];
    // Each pool: values that can work, then values that cannot; the bad ones are drawn one time in five.
    private static readonly (string[] Good, string[] Bad) Sizes = (["4k", "8k", "64k", "128k", "256k", "512", "1m", "4k", "1.5k", "1000ki", "4kib", "0x1000"],
        ["0", "1", "3", "4097", "-4k", "16m", "1g", "1t", "8191p", "8192p", "99999999999999999999999p", "9223372036854775807", "9223372036854771712", "abc", "4q", "1e3"]);
    private static readonly (string[] Good, string[] Bad) Blocks = (["0", "1", "2", "7", "100", "255"],
        ["256", "4096", "65535", "65536", "-1", "0x10", "4294967295", "18446744073709551615", "99999999999999999999", "1.5", "x"]);
    private static readonly (string[] Good, string[] Bad) Times = (["5ms", "10ms", "20ms", "50ms", "10us", "0.02"],
        ["0", "1", "1s", "1h", "1d", "-1", "99999999999d", "1x", "ms"]);
    private static readonly (string[] Good, string[] Bad) Tags = (["0", "1", "0x1234", "0xffff"],
        ["0x10000", "0xffffffff", "0xffffffffffffffff", "-1", "0xg", "18446744073709551616"]);
    private static readonly (string[] Good, string[] Bad) Nsids = (["1"], ["0", "2", "-1", "4294967295", "x"]);
    private static readonly string[] EmulatedKeys = ["lbads", "ms", "mset", "pi", "pil", "pif", "sts", "size", "format", "ro", "direct", "mode", "cpu", "mqes", "dstrd", "mdts", "qpairs"];

    private static readonly Dictionary<string, string[]> KeyValues = new()
    {
        ["lbads"] = ["9", "12", "512", "4096", "1024", "0", "x"],
        ["ms"] = ["0", "8", "16", "64", "7", "-8"],
        ["mset"] = ["0", "1", "2"],
        ["pi"] = ["0", "1", "2", "3", "4"],
        ["pil"] = ["0", "1", "2"],
        ["pif"] = ["0", "1", "2", "3"],
        ["sts"] = ["0", "8", "16", "32", "48", "64", "65"],
        ["size"] = ["1M", "4M", "64M", "1T", "0", "4097", "12X", "99999999999T", "-1"],
        ["format"] = ["0", "1", "01", "2"],
        ["ro"] = ["0", "1", "2"],
        ["direct"] = ["0", "1", "2"],
        ["mode"] = ["threaded", "inline", "fast"],
        ["cpu"] = ["0", "1", "9999"],
        ["mqes"] = ["1", "2", "64", "1024", "65536", "65537"],
        ["dstrd"] = ["0", "2", "15", "16"],
        ["mdts"] = ["0", "1", "7", "10", "11"],
        ["qpairs"] = ["0", "1", "4", "1024", "1025"],
    };

    private readonly FuzzFiles _files = files;

    // Whether this vector's device is the fuzzer's image: a hard link to it is then the device's
    // image under another name (refused). Under another device, a hard link is just a file the
    // command line names, and writing it is what was asked.
    private bool _deviceIsImage;

    /// <summary>The command line of vector <paramref name="index"/> of <paramref name="seed"/>.</summary>
    public string[] Generate(int seed, int index)
    {
        var r = new Random(HashCode.Combine(seed, index));
        _deviceIsImage = false;
        var args = new List<string>();
        string command = r.Next(50) == 0 ? Pick(r, Garbage) : Pick(r, Commands);
        args.Add(command);
        switch (command)
        {
            case "bench": Bench(r, args); break;
            case "crc": Crc(r, args); break;
            default: Tool(r, command, args); break;
        }
        Mutate(r, args);
        return [.. args];
    }

    private void Bench(Random r, List<string> args)
    {
        // Nearly always a device and a short run; the fuzzer's stop request bounds the rest.
        if (r.Next(40) != 0) Flag(r, args, "device", Device(r));
        if (r.Next(4) != 0) Flag(r, args, "runtime", Choose(r, Times));
        int flags = r.Next(0, 6);
        for (int i = 0; i < flags; i++)
        {
            string name = r.Next(3) == 0 ? Pick(r, BenchOptionParser.SwitchFlags) : Pick(r, BenchOptionParser.ValueFlags);
            if (BenchOptionParser.SwitchFlags.Contains(name))
                args.Add(r.Next(6) switch { 0 => $"--{name}=0", 1 => $"--{name}=1", 2 => $"--{name}={Pick(r, Garbage)}", _ => $"--{name}" });
            else if (name != "device" && name != "runtime")
                Flag(r, args, name, BenchValue(r, name));
        }
    }

    private string BenchValue(Random r, string name) => name switch
    {
        "rw" or "readwrite" => Choose(r, (["read", "write", "randread", "randwrite", "rw", "readwrite", "randrw"], ["trim", "READ", ""])),
        "rwmixread" or "rwmixwrite" => Choose(r, (["0", "30", "50", "100"], ["101", "-1", "x"])),
        "bs" or "blocksize" => Choose(r, (["512", "4k", "8k", "64k"], ["1m", "16m", "3", "0", "4k,8k", "4k:8k", "-4k"])),
        "iodepth" => Choose(r, (["1", "2", "8", "32"], ["256", "4096", "0", "-1", "99999"])),
        "numjobs" => Choose(r, (["1", "2"], ["3", "17", "0", "257"])),
        "size" or "offset" => Choose(r, Sizes),
        "ramp_time" => Choose(r, Times),
        "randseed" => Choose(r, Tags),
        "output-format" => Choose(r, (["normal", "json"], ["xml", "JSON"])),
        "output" => OutputPath(r, ".txt"),
        "plot" => OutputPath(r, r.Next(2) == 0 ? ".png" : ".svg"),
        "prchk" => Choose(r, (["guard", "guard,app,ref", "none", "app,ref", "ref"], ["storage", "bogus", "", "guard,,ref"])),
        "apptag" or "apptag-mask" or "storage-tag" => Choose(r, Tags),
        "host-pi" => Choose(r, (["generate", "verify", "both", "none"], ["maybe"])),
        "name" => Choose(r, (["job1", "\u00e9t\u00e9", "x y"], ["", "a\u0001b"])),
        _ => Pick(r, Garbage),
    };

    private void Tool(Random r, string command, List<string> args)
    {
        if (command == "list")
        {
            if (r.Next(3) == 0) Flag(r, args, Pick(r, ["output-format", "o"]), Choose(r, (["normal", "json"], ["xml"])));
            if (r.Next(10) == 0) Flag(r, args, "device", Device(r, controllerOnly: true));
            return;
        }
        if (r.Next(20) != 0) Flag(r, args, "device", Device(r, controllerOnly: true));
        var flags = new List<(string Name, Func<string> Value)>
        {
            ("output-format", () => Choose(r, (["normal", "json"], ["xml"]))),
            ("o", () => Choose(r, (["normal", "json"], ["x"]))),
            ("namespace-id", () => Choose(r, Nsids)),
            ("n", () => Choose(r, Nsids)),
        };
        switch (command)
        {
            case "format":
                flags.AddRange([("pi", () => Choose(r, (["0", "1", "2", "3"], ["4"]))), ("pil", () => Choose(r, (["0", "1"], ["2"]))),
                    ("ms", () => Choose(r, (["0", "1"], ["2"]))), ("ses", () => Choose(r, (["0", "1", "2"], ["3"])))]);
                if (r.Next(8) != 0) Flag(r, args, Pick(r, ["lbaf", "l"]), Choose(r, (["0", "1", "4", "5", "8", "12", "13", "16"], ["63", "64", "-1"])));
                break;
            case "read" or "write" or "write-zeroes" or "dsm":
                if (r.Next(2) == 0) Flag(r, args, Pick(r, ["start-block", "s"]), Choose(r, Blocks));
                if (r.Next(2) == 0) Flag(r, args, Pick(r, ["block-count", "c"]), Choose(r, Blocks));
                if (command != "dsm")
                {
                    flags.AddRange([("prinfo", () => Choose(r, (["0", "1", "8", "15", "0xf"], ["16", "-1"]))), ("p", () => Choose(r, (["0", "8", "15"], ["99"]))),
                        ("ref-tag", () => Choose(r, Tags)), ("app-tag", () => Choose(r, Tags)), ("app-tag-mask", () => Choose(r, Tags)), ("storage-tag", () => Choose(r, Tags))]);
                    if (r.Next(6) == 0) args.Add(Pick(r, ["--storage-tag-check", "-C"]));
                }
                if (command is "read" or "write")
                {
                    if (r.Next(8) != 0) Flag(r, args, Pick(r, ["data", "d"]), DataPath(r, command, "data"));
                    if (r.Next(3) == 0) Flag(r, args, Pick(r, ["metadata", "M"]), DataPath(r, command, "meta"));
                }
                if (command == "dsm" && r.Next(6) != 0) args.Add(Pick(r, ["--deallocate", "-d", "--ad", "--deallocate=0"]));
                if (command == "write-zeroes" && r.Next(3) == 0) args.Add(Pick(r, ["--deac", "-d"]));
                break;
        }
        int count = r.Next(0, 3);
        for (int i = 0; i < count; i++)
        {
            var (name, value) = flags[r.Next(flags.Count)];
            Flag(r, args, name, value());
        }
    }

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
        switch (r.Next(16))
        {
            case 0 or 1 or 2:
                _deviceIsImage = true;
                return _files.ImageDevice;
            case 3:
                _deviceIsImage = true;
                return $"emu:{Pick(r, [_files.Image, _files.ImageSymlink, _files.ImageRelative])}{Pick(r, ["", "", ",ro=1"])}";
            case 4: return controllerOnly && r.Next(2) == 0 ? "mem:size=1M" : $"uring:{_files.UringFile}";
            case 5 or 6 or 7 or 8:
                return Pick(r, ["mem:size=1M", "mem:pi=1,ms=8,size=1M", "mem:lbads=512,ms=16,pi=2,mset=1,size=1M", "mem:lbads=4096,ms=16,pi=1,pif=2,size=1M",
                    "mem:lbads=4096,ms=16,pi=3,pil=1,pif=1,sts=16,size=1M", "null:size=4M", "null:pi=1,ms=8", "mem:mode=inline,size=1M"]);
            case 9: return Pick(r, ["pci:0000:01:00.0", "pci:zzz", "pci:", "foo:bar", "", "emu:", "uring:", $"emu:{_files.Directory}", $"emu:{_files.Missing}/ns.img", $"uring:{_files.Directory}", $"uring:{_files.Missing}", "uring:/dev/null"]);
            case 10: return $"uring:{_files.UringFile},{Pick(r, ["direct=0", "direct=1", "direct=2", "size=1M", "size=2M", "size=8191p", "size=x", "bogus", "direct=0,direct=0"])}";
            default:
                // Random keys on a random scheme; a new image in the output directory when emu:.
                string scheme = Pick(r, ["mem:", "null:", "emu:", "emu:"]);
                var parts = new List<string>();
                if (scheme == "emu:") parts.Add(r.Next(3) == 0 ? Path.Combine(_files.OutputDirectory, $"new-{r.Next(4)}.img") : _files.Image);
                _deviceIsImage = scheme == "emu:" && parts[0] == _files.Image;
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

    private string OutputPath(Random r, string extension) => r.Next(10) switch
    {
        0 => _files.Image,
        1 => _files.Image + ".pnvmefmt",
        2 => _files.ImageSymlink,
        3 => _files.ImageRelative,
        4 => _deviceIsImage ? _files.ImageHardLink : _files.Image,
        5 => _files.Directory,
        6 => Path.Combine(_files.Missing, "out" + extension),
        7 => "/dev/null",
        8 => _files.UringFile,
        _ => Path.Combine(_files.OutputDirectory, $"out-{r.Next(3)}{extension}"),
    };

    private string DataPath(Random r, string command, string which) => r.Next(12) switch
    {
        0 => _files.Image,
        1 => _files.Image + ".pnvmefmt",
        2 => _files.ImageSymlink,
        3 => _files.Directory,
        4 => _files.Missing,
        _ => command == "write" ? (which == "data" ? _files.Data : _files.Metadata) : Path.Combine(_files.OutputDirectory, $"{which}.bin"),
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
                case 0: args.RemoveAt(at); break;                                         // a missing value or flag
                case 1: args.Insert(at, args[at]); break;                                 // a duplicate
                case 2: (args[at], args[^1]) = (args[^1], args[at]); break;               // swapped order
                case 3: args.Insert(at, Pick(r, Garbage)); break;                         // garbage token
                case 4: args[at] = args[at] + Pick(r, ["0", "k", "=", ",", "\u00e9", "p"]); break;
                case 5: args.RemoveAt(args.Count - 1); break;                             // a flag without its value
                default: args[at] = "-" + args[at].ToString(CultureInfo.InvariantCulture); break;   // negative, or a flag with one dash more
            }
        }
    }

    private static string Pick(Random r, string[] values) => values[r.Next(values.Length)];

    private static string Choose(Random r, (string[] Good, string[] Bad) pool) => r.Next(5) == 0 ? Pick(r, pool.Bad) : Pick(r, pool.Good);
}
