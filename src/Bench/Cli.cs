using PolledNvme.Bench.Commands;

namespace PolledNvme.Bench;

/// <summary>Entry point of the pnvme command line: picks the sub-command.</summary>
internal static class Cli
{
    public const int ExitOk = 0;
    public const int ExitFailure = 1;
    public const int ExitUsage = 2;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            stdout.WriteLine(Usage);
            return args.Length == 0 ? ExitUsage : ExitOk;
        }
        if (args[0] == "crc")
            return CrcCommand.Run(args.AsSpan(1), stdout, stderr);
        stderr.WriteLine($"pnvme: unknown command '{args[0]}'. Run 'pnvme --help' for the list.");
        return ExitUsage;
    }

    private const string Usage = """
        usage: pnvme <command> [options]

        commands:
          crc      CRC-16/T10-DIF, CRC-32C, CRC-64/NVME of a file or per block; --bench for speed
        """;
}
