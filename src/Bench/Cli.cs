using PolledNvme.Bench.Commands;
using PolledNvme.Bench.Tools;

namespace PolledNvme.Bench;

/// <summary>Entry point of the pnvme command line: picks the sub-command.</summary>
internal static class Cli
{
    public const int ExitOk = 0;
    public const int ExitFailure = 1;
    public const int ExitUsage = 2;

    // One line per command, so branches that add commands merge cleanly.
    private static readonly Dictionary<string, Func<string[], TextWriter, TextWriter, int>> Commands = new(StringComparer.Ordinal)
    {
        ["bench"] = BenchCommand.Run,
        ["list"] = ListCommand.Run,
        ["id-ctrl"] = IdCtrlCommand.Run,
        ["id-ns"] = IdNsCommand.Run,
        ["format"] = FormatCommand.Run,
        ["read"] = BlockIoCommand.Read,
        ["write"] = BlockIoCommand.Write,
        ["write-zeroes"] = RangeCommands.WriteZeroes,
        ["dsm"] = RangeCommands.Dsm,
        ["crc"] = (args, stdout, stderr) => CrcCommand.Run(args, stdout, stderr),
    };

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            stdout.WriteLine(Usage);
            return args.Length == 0 ? ExitUsage : ExitOk;
        }
        if (Commands.TryGetValue(args[0], out var command))
            return command(args[1..], stdout, stderr);
        stderr.WriteLine($"pnvme: unknown command '{args[0]}'. Run 'pnvme --help' for the list.");
        return ExitUsage;
    }

    private const string Usage = """
        usage: pnvme <command> [options]

        commands:
          bench         fio-like benchmark (no flags: 10 s 4 KiB randrw 70/30 QD32, PI type 1, host PI verify)
          list          NVMe controllers on the PCI bus, and how to use an emulated one
          id-ctrl       Identify Controller
          id-ns         Identify Namespace, LBA formats with PI details (-H style)
          format        Format NVM (--lbaf --pi --pil --ms --ses)
          read, write   read/write blocks (--start-block --block-count --data --metadata --prinfo ...)
          write-zeroes  Write Zeroes
          dsm           Dataset Management (--deallocate)
          crc           CRC-16/T10-DIF, CRC-32C, CRC-64/NVME of a file or per block; --bench for speed

        every command takes --device DEV (emu:PATH[,..] mem:[..] null:[..] pci:BDF uring:PATH)
        and --output-format normal|json; 'pnvme <command> --help' for its flags.

        exit codes: 0 success; 1 the device or a command failed (NVMe status printed by name),
        or the benchmark found I/O, PI or verify errors; 2 usage error (the message names the flag)
        """;
}
