using System.Globalization;
using PolledNvme.Bench.Options;
using PolledNvme.Protection;

namespace PolledNvme.Bench.Commands;

/// <summary>
/// <c>pnvme crc</c>: the CRC of a file, or of each block of it, with any of the three PI
/// guard CRCs; <c>--bench</c> prints their speed per code path (see <see cref="CrcBenchTable"/>).
/// </summary>
internal static class CrcCommand
{
    public const string Usage = """
        usage: pnvme crc --algo t10dif|crc32c|crc64nvme [--block-size N] FILE
               pnvme crc --bench [--seconds S] [--runs R]

        Prints the CRC of FILE, or with --block-size the CRC of each N-byte block (the last
        block may be shorter), as fixed-width lowercase hex, one per line.
        --bench prints the CPU class and the dispatch the CRCs chose for it, then GB/s per
        algorithm and code path at 512 B, 4 KiB and 1 MiB beside the default (dispatched)
        path, System.IO.Hashing and ISA-L (when libisal is installed: the functions ISA-L
        itself would run on this CPU class), the multi-block entry points, whether each
        default is the fastest forced path at 4 KiB (timed against it in alternating
        batches), then each default against ISA-L in alternating 50 µs batches (median
        ratio of the pairs and its quartiles). S is the
        measuring time in seconds (default 20), after a warm-up that waits until the JIT has
        promoted every path (up to S/2 more, at least 10 s; one pass when S < 5); R runs
        alternate over all cells and the median is printed (default 1).
        """;

    /// <summary>
    /// Reads in pieces of this many bytes (whole blocks when blocks are smaller), so any file
    /// and any block size stream through one bounded buffer.
    /// </summary>
    private const int ReadChunk = 1 << 20;

    private sealed class Options
    {
        public CrcAlgorithm? Algorithm;
        public long BlockSize;
        public string? File;
        public bool Bench;
        public double Seconds = 20;
        public int Runs = 1;
    }

    public static int Run(ReadOnlySpan<string> args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Contains("-h") || args.Contains("--help"))
        {
            stdout.WriteLine(Usage);
            return Cli.ExitOk;
        }
        Options options = Parse(args);
        if (options.Bench)
        {
            CrcBenchTable.Print(stdout, TimeSpan.FromSeconds(options.Seconds), options.Runs);
            return Cli.ExitOk;
        }
        string path = options.File!;
        if (Directory.Exists(path))
            throw new UsageException("FILE", $"'{path}' is a directory; give a file");
        if (!System.IO.File.Exists(path))
            throw new UsageException("FILE", $"file '{path}' not found");
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan);
            if (options.BlockSize == 0)
                stdout.WriteLine(Format(options.Algorithm!.Value, WholeFile(options.Algorithm.Value, file)));
            else
                PerBlock(options.Algorithm!.Value, file, options.BlockSize, stdout);
            return Cli.ExitOk;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot read '{path}': {e.Message}", e);
        }
    }

    private static Options Parse(ReadOnlySpan<string> args)
    {
        var o = new Options();
        var given = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            switch (arg)
            {
                case "--bench":
                    if (!given.Add(arg)) throw new UsageException(arg, "given more than once");
                    o.Bench = true;
                    break;
                case "--algo" or "--block-size" or "--seconds" or "--runs":
                    // One value each: with two, which one was meant is a guess.
                    if (!given.Add(arg)) throw new UsageException(arg, "given more than once");
                    if (i + 1 >= args.Length)
                        throw new UsageException(arg, "needs a value");
                    string value = args[++i];
                    if (arg == "--algo")
                    {
                        if (!TryParseAlgorithm(value, out CrcAlgorithm algorithm))
                            throw new UsageException(arg, $"unknown algorithm '{value}' (expected t10dif, crc32c or crc64nvme)");
                        o.Algorithm = algorithm;
                    }
                    else if (arg == "--block-size")
                    {
                        if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out o.BlockSize) || o.BlockSize <= 0 || o.BlockSize > long.MaxValue / 2)
                            throw new UsageException(arg, $"must be a positive number of bytes, got '{value}'");
                    }
                    else if (arg == "--runs")
                    {
                        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out o.Runs) || o.Runs < 1 || o.Runs > 99)
                            throw new UsageException(arg, $"must be a whole number from 1 to 99, got '{value}'");
                    }
                    else if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out o.Seconds) || !(o.Seconds > 0) || o.Seconds > 3600)
                        throw new UsageException(arg, $"must be a positive number of seconds (at most 3600), got '{value}'");
                    break;
                default:
                    if (arg.StartsWith('-') && arg.Length > 1)
                        throw new UsageException(arg, "unknown option");
                    if (o.File is not null)
                        throw new UsageException("FILE", $"only one FILE may be given ('{o.File}', then '{arg}')");
                    if (arg.Length == 0)
                        throw new UsageException("FILE", "is empty");
                    o.File = arg;
                    break;
            }
        }
        if (o.Bench)
            return o.File is null && o.Algorithm is null && o.BlockSize == 0
                ? o
                : throw new UsageException("--bench", "takes no FILE, --algo or --block-size");
        foreach (string benchOnly in new[] { "--seconds", "--runs" })
            if (given.Contains(benchOnly))
                throw new UsageException(benchOnly, "only applies to --bench");
        if (o.Algorithm is null)
            throw new UsageException("--algo", "is required (t10dif, crc32c or crc64nvme)");
        if (o.File is null)
            throw new UsageException("FILE", "is required");
        return o;
    }

    private static bool TryParseAlgorithm(string name, out CrcAlgorithm algorithm)
    {
        algorithm = name.ToLowerInvariant() switch
        {
            "t10dif" => CrcAlgorithm.T10Dif,
            "crc32c" => CrcAlgorithm.Crc32C,
            "crc64nvme" => CrcAlgorithm.Crc64Nvme,
            _ => (CrcAlgorithm)(-1),
        };
        return Enum.IsDefined(algorithm);
    }

    private static ulong WholeFile(CrcAlgorithm algorithm, Stream file)
    {
        byte[] buffer = new byte[ReadChunk];
        ulong crc = 0;
        int read;
        while ((read = file.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false)) > 0)
            crc = Update(algorithm, crc, buffer.AsSpan(0, read));
        return crc;
    }

    private static void PerBlock(CrcAlgorithm algorithm, Stream file, long blockSize, TextWriter stdout)
    {
        if (blockSize > ReadChunk)
        {
            LargeBlocks(algorithm, file, blockSize, stdout);
            return;
        }
        int size = (int)blockSize;
        int blocksPerRead = ReadChunk / size;
        byte[] buffer = new byte[blocksPerRead * size];
        var crcs = new ulong[blocksPerRead];
        var scratch = new BlockScratch(blocksPerRead);
        int read;
        while ((read = file.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false)) > 0)
        {
            int whole = read / size;
            ComputeBlocks(algorithm, buffer.AsSpan(0, whole * size), size, crcs.AsSpan(0, whole), scratch);
            for (int i = 0; i < whole; i++)
                stdout.WriteLine(Format(algorithm, crcs[i]));
            if (read % size != 0)
                stdout.WriteLine(Format(algorithm, Update(algorithm, 0, buffer.AsSpan(whole * size, read % size))));
        }
    }

    // Blocks larger than the read buffer: each block's CRC is chained over the pieces read
    // (Update continues a CRC), so memory stays at one chunk whatever the block size.
    private static void LargeBlocks(CrcAlgorithm algorithm, Stream file, long blockSize, TextWriter stdout)
    {
        byte[] buffer = new byte[ReadChunk];
        ulong crc = 0;
        long inBlock = 0;
        while (true)
        {
            int want = (int)Math.Min(buffer.Length, blockSize - inBlock);
            int read = file.ReadAtLeast(buffer.AsSpan(0, want), want, throwOnEndOfStream: false);
            if (read == 0)
                break;
            crc = Update(algorithm, crc, buffer.AsSpan(0, read));
            inBlock += read;
            if (inBlock == blockSize)
            {
                stdout.WriteLine(Format(algorithm, crc));
                (crc, inBlock) = (0, 0);
            }
            if (read < want)
                break;
        }
        if (inBlock > 0)
            stdout.WriteLine(Format(algorithm, crc));
    }

    private static ulong Update(CrcAlgorithm algorithm, ulong crc, ReadOnlySpan<byte> data) => algorithm switch
    {
        CrcAlgorithm.T10Dif => Crc16T10Dif.Update((ushort)crc, data),
        CrcAlgorithm.Crc32C => Crc32C.Update((uint)crc, data),
        _ => Crc64Nvme.Update(crc, data),
    };

    /// <summary>Per-read result buffers of the narrower CRCs, allocated once per file.</summary>
    private sealed class BlockScratch(int blocks)
    {
        public readonly ushort[] Crc16 = new ushort[blocks];
        public readonly uint[] Crc32 = new uint[blocks];
    }

    private static void ComputeBlocks(CrcAlgorithm algorithm, ReadOnlySpan<byte> source, int blockSize, Span<ulong> crcs, BlockScratch scratch)
    {
        switch (algorithm)
        {
            case CrcAlgorithm.Crc64Nvme:
                Crc64Nvme.ComputeBlocks(source, blockSize, blockSize, crcs);
                return;
            case CrcAlgorithm.Crc32C:
                Span<uint> crc32 = scratch.Crc32.AsSpan(0, crcs.Length);
                Crc32C.ComputeBlocks(source, blockSize, blockSize, crc32);
                for (int i = 0; i < crcs.Length; i++)
                    crcs[i] = crc32[i];
                return;
            default:
                Span<ushort> crc16 = scratch.Crc16.AsSpan(0, crcs.Length);
                Crc16T10Dif.ComputeBlocks(source, blockSize, blockSize, crc16);
                for (int i = 0; i < crcs.Length; i++)
                    crcs[i] = crc16[i];
                return;
        }
    }

    private static string Format(CrcAlgorithm algorithm, ulong crc) => algorithm switch
    {
        CrcAlgorithm.T10Dif => crc.ToString("x4", CultureInfo.InvariantCulture),
        CrcAlgorithm.Crc32C => crc.ToString("x8", CultureInfo.InvariantCulture),
        _ => crc.ToString("x16", CultureInfo.InvariantCulture),
    };
}

/// <summary>The three PI guard CRCs.</summary>
internal enum CrcAlgorithm
{
    T10Dif,
    Crc32C,
    Crc64Nvme,
}
