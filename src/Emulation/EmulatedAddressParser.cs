using System.Globalization;
using PolledNvme.Emulation.Media;
using PolledNvme.Queues;

namespace PolledNvme.Emulation;

/// <summary>Parses <c>emu:PATH[,k=v...]</c>, <c>mem:[k=v,...]</c> and <c>null:[k=v,...]</c> device strings.</summary>
internal static class EmulatedAddressParser
{
    private const string AcceptedSchemes = "emu:PATH[,key=value...], mem:[key=value,...] or null:[key=value,...]";
    private const string AcceptedKeys = "lbads, ms, mset, pi, pil, pif, sts, size, noiob, format, ro, direct, mode, cpu, mqes, dstrd, mdts, qpairs, dbbuf";

    public static EmulatedControllerOptions Parse(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        int colon = address.IndexOf(':');
        if (colon < 0)
            throw new ArgumentException($"'{address}' has no scheme; accepted: {AcceptedSchemes}.", nameof(address));
        string scheme = address[..colon];
        string rest = address[(colon + 1)..];
        var ns = new EmulatedNamespaceOptions();
        var options = new EmulatedControllerOptions { Namespaces = [ns], Address = address };

        string[] parts = rest.Length == 0 ? [] : rest.Split(',');
        int first = 0;
        switch (scheme)
        {
            case "emu":
                if (parts.Length == 0 || parts[0].Length == 0 || parts[0].Contains('='))
                    throw new ArgumentException($"'{address}': the emu scheme needs a file path first, e.g. emu:/tmp/ns.img,lbads=4096.", nameof(address));
                ns.Backend = MediaBackendKind.File;
                ns.FilePath = parts[0];
                ns.CapacityBytes = 1L << 30;
                first = 1;
                break;
            case "mem":
                ns.Backend = MediaBackendKind.Ram;
                break;
            case "null":
                ns.Backend = MediaBackendKind.Null;
                ns.CapacityBytes = 1L << 30;
                break;
            default:
                throw new ArgumentException($"'{scheme}:' is not an emulated device scheme; accepted: {AcceptedSchemes}.", nameof(address));
        }

        // Each key once: with two values for one key, which one the user meant is a guess.
        var given = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = first; i < parts.Length; i++)
        {
            string part = parts[i];
            if (part.Length == 0)
                continue;
            int eq = part.IndexOf('=');
            if (eq <= 0)
                throw new ArgumentException($"'{part}' is not key=value; accepted keys: {AcceptedKeys}.", nameof(address));
            string key = part[..eq];
            string value = part[(eq + 1)..];
            if (given.TryGetValue(key, out string? earlier))
                throw new ArgumentException($"{key}: given twice ('{key}={earlier}', then '{part}'); give each key once.", nameof(address));
            Apply(options, ns, key, value);
            given.Add(key, value);
        }
        if (ns.Backend != MediaBackendKind.File)
        {
            // Only a file is laid out or opened with O_DIRECT; on RAM or null media these keys would be silently ignored.
            foreach (string fileKey in (ReadOnlySpan<string>)["direct", "format"])
                if (given.ContainsKey(fileKey))
                    throw new ArgumentException($"{fileKey}: applies to a file (emu:PATH) only; {scheme}: media start empty and live in {(ns.Backend == MediaBackendKind.Ram ? "RAM" : "nothing")}.", nameof(address));
        }
        else
        {
            CheckImagePath(ns.FilePath!);
        }
        bool namesFormat = FormatKeys.Any(given.ContainsKey);
        // An image opened by its path alone takes the format it was laid out with, so
        // `emu:/tmp/ns.img` reopens what `emu:/tmp/ns.img,lbads=4096,ms=16,pi=1` created. A
        // device string that names a format must match the record (or ask for format=1).
        if (ns.Backend == MediaBackendKind.File && !namesFormat && !ns.FormatMedia && RecordedFormat(ns.FilePath!) is { } record)
            AdoptRecordedFormat(ns, record);
        options.Validate();
        RefuseContradictions(ns, given);
        if (ns.Backend == MediaBackendKind.Ram)
        {
            long media = ns.CapacityBytes / ns.BlockSize * (ns.BlockSize + ns.MetadataSize);
            HostMemory.EnsureFits(media, $"size: the RAM namespace ({ns.CapacityBytes / ns.BlockSize} blocks of {ns.BlockSize}+{ns.MetadataSize} bytes)",
                "give a smaller size= or put the namespace on a file (emu:PATH)", nameof(address));
        }
        return options;
    }

    /// <summary>Keys that name the namespace's format (an image opened without them takes its recorded format).</summary>
    private static readonly string[] FormatKeys = ["lbads", "ms", "mset", "pi", "pil", "pif", "sts", "size"];

    // Keys that describe protection information or metadata placement mean nothing without
    // them; accepting them would let a typo (pi=0 for pi=1) pass unnoticed. Defaults (0) are fine.
    private static void RefuseContradictions(EmulatedNamespaceOptions ns, Dictionary<string, string> given)
    {
        if (ns.PiType == 0)
        {
            if (given.ContainsKey("pil") && ns.PiFirst)
                throw new ArgumentException("pil: pil=1 places protection information, but pi=0 turns it off; give pi=1, 2 or 3, or leave pil out.", "address");
            if (given.ContainsKey("pif") && ns.GuardFormat != 0)
                throw new ArgumentException($"pif: pif={ns.GuardFormat} chooses the protection information's guard, but pi=0 turns it off; give pi=1, 2 or 3, or leave pif out.", "address");
            if (given.ContainsKey("sts") && ns.StorageTagSize != 0)
                throw new ArgumentException($"sts: a {ns.StorageTagSize}-bit storage tag lives in the protection information, but pi=0 turns it off; give pi=1, 2 or 3, or leave sts out.", "address");
        }
        if (given.ContainsKey("mset") && ns.ExtendedLba && ns.MetadataSize == 0)
            throw new ArgumentException("mset: mset=1 puts metadata after each block, but ms=0 gives none; give ms=8, 16 or 64, or leave mset out.", "address");
    }

    // Refused here rather than when the file is opened, so the message names the device string.
    private static void CheckImagePath(string path)
    {
        if (Directory.Exists(path))
            throw new ArgumentException($"emu: '{path}' is a directory; give the path of an image file (created when missing), e.g. emu:{Path.Combine(path, "ns.img")}.", "address");
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null && !Directory.Exists(directory))
            throw new ArgumentException($"emu: the directory '{directory}' of '{path}' does not exist; create it or give another path.", "address");
    }

    /// <summary>
    /// The format recorded for the image, as an open would resolve an interrupted format, without
    /// changing any file (the open does that under the image's lock); null when there is none.
    /// </summary>
    private static MediaFormatRecord? RecordedFormat(string path)
        => MediaFiles.TryStat(path, out ulong inode, out long length) && length > 0
           && MediaFormatSidecar.Resolve(path, inode, length, repair: false, out MediaFormatRecord record)
            ? record
            : null;

    private static void AdoptRecordedFormat(EmulatedNamespaceOptions ns, in MediaFormatRecord record)
    {
        ns.BlockSize = record.BlockSize;
        ns.MetadataSize = record.MetadataSize;
        ns.PiType = record.PiType;
        ns.PiFirst = record.PiFirst;
        ns.GuardFormat = record.GuardFormat;
        ns.StorageTagSize = record.StorageTagSize;
        ns.ExtendedLba = record.ExtendedLba;
        ns.CapacityBytes = record.BlockCount * record.BlockSize;
    }

    private static void Apply(EmulatedControllerOptions options, EmulatedNamespaceOptions ns, string key, string value)
    {
        switch (key)
        {
            case "lbads":
                ns.BlockSize = Integer(key, value, "9, 12, 512 or 4096") switch
                {
                    9 or 512 => 512,
                    12 or 4096 => 4096,
                    _ => throw Bad(key, value, "9, 12, 512 or 4096"),
                };
                break;
            case "ms": ns.MetadataSize = Choice(key, value, "0, 8, 16 or 64", 0, 8, 16, 64); break;
            case "mset": ns.ExtendedLba = Choice(key, value, "0 or 1", 0, 1) == 1; break;
            case "pi": ns.PiType = Choice(key, value, "0, 1, 2 or 3", 0, 1, 2, 3); break;
            case "pil": ns.PiFirst = Choice(key, value, "0 (PI last) or 1 (PI first)", 0, 1) == 1; break;
            case "pif": ns.GuardFormat = Choice(key, value, "0 (16b guard), 1 (32b guard) or 2 (64b guard)", 0, 1, 2); break;
            case "sts": ns.StorageTagSize = Range(key, value, 0, 64); break;
            case "size": ns.CapacityBytes = Size(key, value); break;
            case "noiob": ns.OptimalIoBoundary = Range(key, value, 0, ushort.MaxValue); break;
            case "direct": ns.DirectIo = Choice(key, value, "0 (page cache) or 1 (O_DIRECT where the filesystem supports it)", 0, 1) == 1; break;
            case "format": ns.FormatMedia = Choice(key, value, "0 (keep the file's format) or 1 (re-lay the file, erasing it)", 0, 1) == 1; break;
            case "ro": ns.ReadOnly = Choice(key, value, "0 (read-write, one writer) or 1 (read-only, shared with other readers)", 0, 1) == 1; break;
            case "mode":
                options.Mode = value switch
                {
                    "threaded" => EmulatedControllerMode.Threaded,
                    "inline" => EmulatedControllerMode.Inline,
                    _ => throw Bad(key, value, "threaded or inline"),
                };
                break;
            case "cpu": options.DeviceCpu = Range(key, value, 0, CoreAffinity.CpuSetSize - 1); break;   // allowed-set check: EmulatedControllerOptions.Validate
            case "mqes": options.MaxQueueEntries = Range(key, value, 2, 65536); break;
            case "dstrd": options.DoorbellStride = Range(key, value, 0, 15); break;
            case "mdts": options.Mdts = Range(key, value, 1, 10); break;
            case "qpairs": options.MaxIoQueuePairs = Range(key, value, 1, 1024); break;
            case "dbbuf": options.ShadowDoorbells = Choice(key, value, "0 (no Doorbell Buffer Config) or 1 (offer shadow doorbells, OACS bit 8)", 0, 1) == 1; break;
            default:
                throw new ArgumentException($"unknown key '{key}'; accepted keys: {AcceptedKeys}.", "address");
        }
    }

    private static ArgumentException Bad(string key, string value, string accepted)
        => new($"{key}: '{value}' is not valid; accepted: {accepted}.", "address");

    private static int Integer(string key, string value, string accepted)
        => int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : throw Bad(key, value, accepted);

    private static int Choice(string key, string value, string accepted, params ReadOnlySpan<int> allowed)
    {
        int n = Integer(key, value, accepted);
        return allowed.Contains(n) ? n : throw Bad(key, value, accepted);
    }

    private static int Range(string key, string value, int min, int max)
    {
        string accepted = $"{min}-{max}";
        int n = Integer(key, value, accepted);
        return n >= min && n <= max ? n : throw Bad(key, value, accepted);
    }

    private static long Size(string key, string value)
    {
        const string accepted = "a byte count with an optional K, M, G or T suffix (powers of 1024), e.g. 64M";
        if (value.Length == 0)
            throw Bad(key, value, accepted);
        int shift = char.ToUpperInvariant(value[^1]) switch { 'K' => 10, 'M' => 20, 'G' => 30, 'T' => 40, _ => 0 };
        string digits = shift == 0 ? value : value[..^1];
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n <= 0 || n > (long.MaxValue >> shift))
            throw Bad(key, value, accepted);
        return n << shift;
    }
}
