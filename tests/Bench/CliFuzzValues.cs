namespace PolledNvme.Tests.Bench;

/// <summary>The value pools of <see cref="CliFuzzVectors"/>: per option, values that can work, then values that cannot.</summary>
internal sealed partial class CliFuzzVectors
{
    // Each pool: values that can work, then values that cannot; the bad ones are drawn one time in five.
    private static readonly (string[] Good, string[] Bad) Sizes = (["4k", "8k", "64k", "128k", "256k", "512", "1m", "4k", "1.5k", "1000ki", "4kib", "0x1000"],
        ["0", "1", "3", "4097", "-4k", "16m", "1g", "1t", "8191p", "8192p", "99999999999999999999999p", "9223372036854775807", "9223372036854771712", "abc", "4q", "1e3"]);
    private static readonly (string[] Good, string[] Bad) Blocks = (["0", "1", "2", "7", "100", "255", "0x10", "010"],
        ["256", "4096", "65535", "65536", "-1", "4294967295", "18446744073709551615", "99999999999999999999", "1.5", "x", "08"]);
    private static readonly (string[] Good, string[] Bad) Times = (["5ms", "10ms", "20ms", "50ms", "10us", "0.02"],
        ["0", "1", "1s", "1h", "1d", "-1", "99999999999d", "1x", "ms"]);
    private static readonly (string[] Good, string[] Bad) Tags = (["0", "1", "0x1234", "0xffff"],
        ["0x10000", "0xffffffff", "0xffffffffffffffff", "-1", "0xg", "18446744073709551616"]);
    private static readonly (string[] Good, string[] Bad) Nsids = (["1", "0"], ["2", "-1", "4294967295", "0xffffffff", "x"]);
    private static readonly (string[] Good, string[] Bad) Dwords = (["0", "1", "0x4", "7", "0x10000", "0xffffffff"], ["0x100000000", "-1", "x", "1k"]);
    private static readonly string[] EmulatedKeys = ["lbads", "ms", "mset", "pi", "pil", "pif", "sts", "size", "format", "ro", "direct", "mode", "cpu", "mqes", "dstrd", "mdts", "qpairs", "dbbuf"];

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
        ["dbbuf"] = ["0", "1", "2"],
    };

    /// <summary>A value for option <paramref name="name"/> of <paramref name="command"/> (names mean different things in different commands, as in nvme-cli).</summary>
    private string Value(Random r, string command, string name) => (command, name) switch
    {
        (_, "device") => Device(r, controllerOnly: true),
        (_, "namespace-id") => Choose(r, Nsids),
        (_, "output-format") => Choose(r, (["normal", "json", "binary"], ["xml", "JSON", ""])),
        (_, "start-block") => Choose(r, (["0", "1", "7", "100", "255", "0x10", "1k"], ["256", "1m", "18446744073709551615", "-1", "1q"])),
        (_, "block-count") => r.Next(3) == 0 ? "0" : Choose(r, Blocks),
        (_, "data-size") => Choose(r, (["512", "4096", "4104", "8192", "32768", "4k", "0"], ["1", "99999999999", "4q", "-1", "1p"])),
        (_, "metadata-size") => Choose(r, (["8", "8", "16", "64", "0", "128"], ["1", "-8", "x"])),
        ("read", "data" or "metadata") => OutputPath(r, ".bin"),
        (_, "data" or "metadata") => InputPath(r, name == "data" ? "data" : "meta"),
        (_, "prinfo") => Choose(r, (["0", "1", "2", "4", "8", "15", "0xf", "012"], ["16", "-1", "0x10"])),
        (_, "ref-tag" or "app-tag" or "app-tag-mask" or "storage-tag") => Choose(r, Tags),
        (_, "dir-type" or "dir-spec" or "dsm") => Choose(r, (["0", "1"], ["x"])),
        ("format", "lbaf") => Choose(r, (["0", "1", "4", "5", "8", "12", "13", "16"], ["63", "64", "-1"])),
        ("format", "ses") => Choose(r, (["0", "1", "2"], ["3"])),
        ("format", "pi") => Choose(r, (["0", "1", "2", "3"], ["4"])),
        ("format", "pil" or "ms") => Choose(r, (["0", "1"], ["2"])),
        ("format", "timeout") => Choose(r, (["1000", "600000", "60000"], ["0", "-1", "x", "4294967296"])),
        ("format", "block-size") => Choose(r, (["512", "4096", "4k", "0"], ["3", "0x1001", "1t"])),
        ("dsm", "slbs") => Choose(r, (["0", "0,8", "255,0", "0,1,2", "100"], ["256", "x", "0,,1", "-1", string.Join(',', Enumerable.Range(0, 257))])),
        ("dsm", "blocks") => Choose(r, (["1", "8,8", "1,1", "1,2,3", "256"], ["0", "257", "x", "1,", "4294967296"])),
        ("dsm", "ctx-attrs") => Choose(r, (["0", "0,0", "1,2,3"], ["x", "4294967296"])),
        ("dsm", "cdw11") => Choose(r, (["4", "2", "1", "0", "6"], ["x", "-4"])),
        (_, "opcode") when command == "io-passthru" => Choose(r, (["0x00", "0x01", "0x02", "0x05", "0x08", "0x09", "0x0c", "0x04", "0x80", "0xff", "0x03"], ["256", "-1", "x"])),
        (_, "opcode") => Choose(r, (["0x06", "0x02", "0x0a", "0x09", "0x80", "0x00", "0x01", "0x04", "0x05", "0x08", "0x0c", "0x7c", "0xff", "0xc1", "0xc2"], ["256", "-1", "x"])),
        ("io-passthru" or "admin-passthru", "flags") => Choose(r, (["0", "1", "2", "0x3"], ["0x40", "0x80", "256"])),
        (_, "prefill") => Choose(r, (["0", "0xff", "0x5a"], ["256", "x"])),
        (_, "rsvd") => Choose(r, (["0"], ["1", "65536"])),
        ("io-passthru" or "admin-passthru", "data-len") => Choose(r, (["0", "4", "512", "4096", "8192", "131072"], ["3", "1048576", "4294967295", "4294967296"])),
        (_, "metadata-len") => Choose(r, (["0"], ["8", "x"])),
        (_, "timeout") => Choose(r, (["0", "1000", "10000"], ["x", "-1"])),
        (_, "cdw2" or "cdw3" or "cdw10" or "cdw11" or "cdw12" or "cdw13" or "cdw14" or "cdw15") => Choose(r, Dwords),
        (_, "input-file") => r.Next(2) == 0 ? OutputPath(r, ".bin") : InputPath(r, "data"),
        ("get-log", "log-id") => Choose(r, (["1", "2", "3", "0xc0", "0"], ["256", "x"])),
        ("get-log", "log-len") => Choose(r, (["512", "4", "64", "4096", "131072", "16384"], ["3", "0", "1073741828", "4294967292", "4294967296"])),
        ("get-log", "aen") => Choose(r, (["0x020000", "0", "0x010000"], ["x"])),
        ("get-log", "lpo") => Choose(r, (["0", "4", "512"], ["3", "0xffffffffffffffff", "1p"])),
        ("get-log", "lsp") => Choose(r, (["0", "1"], ["128"])),
        ("get-log", "lsi") => Choose(r, (["0", "1"], ["65536"])),
        (_, "uuid-index") => Choose(r, (["0"], ["1", "128"])),
        ("get-log", "csi") => Choose(r, (["0", "2"], ["256"])),
        ("error-log", "log-entries") => Choose(r, (["1", "64", "256", "65"], ["0", "x", "4294967296"])),
        (_, "feature-id") => Choose(r, (["1", "2", "4", "6", "7", "8", "0x0a", "0x0b", "0x0e", "0x16", "0x80"], ["0", "0xff", "256", "x"])),
        ("get-feature", "sel") => Choose(r, (["0", "1", "2", "3", "8"], ["4", "9", "x"])),
        ("set-feature", "value") => Choose(r, (["0", "1", "0x11", "0x157", "0xffffffff"], ["0x100000000", "x", "-1"])),
        (_, "data-len") => Choose(r, (["0", "8", "512", "4096"], ["1048576", "1048577", "x"])),
        _ => Choose(r, Dwords),
    };
}
