using PolledNvme.Bench.Commands;
using PolledNvme.Bench.Options;
using PolledNvme.Bench.Run;
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
        ["list"] = ListCommand.Run,
        ["id-ctrl"] = IdCtrlCommand.Run,
        ["id-ns"] = IdNsCommand.Run,
        ["nvm-id-ns"] = NvmIdNsCommand.Run,
        ["format"] = FormatCommand.Run,
        ["read"] = BlockIoCommand.Read,
        ["write"] = BlockIoCommand.Write,
        ["compare"] = BlockIoCommand.Compare,
        ["verify"] = RangeCommands.Verify,
        ["write-zeroes"] = RangeCommands.WriteZeroes,
        ["flush"] = RangeCommands.Flush,
        ["dsm"] = DsmCommand.Run,
        ["get-log"] = LogCommands.GetLog,
        ["smart-log"] = LogCommands.SmartLog,
        ["error-log"] = LogCommands.ErrorLog,
        ["get-feature"] = FeatureCommands.Get,
        ["set-feature"] = FeatureCommands.Set,
        ["io-passthru"] = PassthruCommand.Io,
        ["admin-passthru"] = PassthruCommand.Admin,
        ["discover"] = DiscoverCommand.Run,
        ["crc"] = (args, stdout, stderr) => CrcCommand.Run(args, stdout, stderr),
    };

    // Commands that run long enough to be stopped by a signal (SIGINT, SIGTERM, SIGHUP) and report what they did.
    private static readonly Dictionary<string, Func<string[], TextWriter, TextWriter, StopRequest, int>> StoppableCommands = new(StringComparer.Ordinal)
    {
        ["bench"] = BenchCommand.Run,
    };

    /// <summary>Every command's name (the fuzzer checks that it covers them all).</summary>
    internal static IEnumerable<string> CommandNames => Commands.Keys.Concat(StoppableCommands.Keys);

    /// <summary>Runs a command line in-process (tests); nothing can stop it early.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) => Run(args, stdout, stderr, new StopRequest());

    /// <summary>
    /// Runs a command line; <paramref name="stop"/> ends a benchmark early (the signal handler's).
    /// Every failure, whatever its type, becomes one line on stderr and exit code 1 or 2 (<see cref="CliErrors"/>).
    /// </summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, StopRequest stop)
    {
        string command = args.Length > 0 && (Commands.ContainsKey(args[0]) || StoppableCommands.ContainsKey(args[0])) ? args[0] : "";
        try
        {
            if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
            {
                stdout.WriteLine(Usage);
                return args.Length == 0 ? ExitUsage : ExitOk;
            }
            if (StoppableCommands.TryGetValue(args[0], out var stoppable))
                return stoppable(args[1..], stdout, stderr, stop);
            if (Commands.TryGetValue(args[0], out var handler))
                return handler(args[1..], stdout, stderr);
            throw new UsageException($"'{args[0]}'", NvmeCliCommands.Explain(args[0]) ?? "is not a pnvme command");
        }
        catch (Exception e)
        {
            return CliErrors.Report(command, e, stderr);
        }
    }

    private const string Usage = """
        usage: pnvme <command> [options]

        commands:
          bench         fio's options and job files (no job: 10 s 4 KiB randrw 70/30 QD32, PI type 1, host PI verify)
          list          NVMe controllers on the PCI bus, and how to use an emulated one
          crc           CRC-16/T10-DIF, CRC-32C, CRC-64/NVME of a file or per block; --bench for speed

        nvme-cli's commands, options and output (pnvme <command> <device> [OPTIONS]):
          id-ctrl       Identify Controller (-H decodes, -o json|binary)
          id-ns         Identify Namespace (-H decodes, -o json|binary)
          nvm-id-ns     NVM command set Identify Namespace: PI format and storage tag size per LBA format
          format        Format NVM (--lbaf --pi --pil --ms --ses; asks first unless --force)
          read, write   read/write blocks (-s -c -z -y -d -M -p ...; stdin/stdout without -d)
          compare       Compare blocks with data (from -d or stdin)
          verify        Verify blocks (the controller reads and checks them)
          write-zeroes  Write Zeroes
          flush         Flush the volatile write cache
          dsm           Dataset Management (--slbs/--blocks lists, --ad --idw --idr or --cdw11)
          get-log       any log page (hex dump or -b raw)
          smart-log     SMART / Health log
          error-log     Error Information log
          get-feature   Get Features (all features without -f)
          set-feature   Set Features
          io-passthru   an I/O command built from its dwords
          admin-passthru an admin command built from its dwords
          discover      NVMe/TCP discovery log (pnvme discover tcp:ADDR[:PORT], -o json)

        the device: emu:PATH[,..] mem:[..] null:[..] pci:BDF tcp:ADDR:PORT/SUBNQN[,..] (first argument, or --device DEV);
        'pnvme <command> --help' lists a command's options.

        exit codes: 0 success; 1 the device or a command failed (NVMe status printed by name),
        or the benchmark found I/O, PI or verify errors, or a signal stopped it; 2 usage error
        (the message names the flag or key; refused before any I/O). Every failure is one line on
        stderr; PNVME_DEBUG=1 adds the stack trace.
        """;
}
