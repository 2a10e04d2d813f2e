using System.Diagnostics;
using System.IO.Hashing;
using System.Text;
using PolledNvme.Emulation;
using PolledNvme.Driver.Pcie;
using PolledNvme.Driver.Spec;
using PolledNvme.Driver.Transport;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Emulation.Fuzz;

/// <summary>A rule the device broke: the run stops and reports it with the command and its completion.</summary>
internal sealed class FuzzViolationException(string message) : Exception(message);

/// <summary>Something a test of the fuzzer does to the device or its memory once, after command <see cref="AfterCommand"/>.</summary>
internal sealed record Sabotage(long AfterCommand, Action<EmulatedController, FuzzMemory> Act);

/// <summary>
/// Drives one emulated controller at the register and queue level with fuzzed submission
/// entries: raw entries on real rings, doorbells written by hand, completions reaped by phase
/// tag. Every completion is checked against the oracle (command id, SQ id, SQ head, status);
/// after every batch the controller must be ready and the bytes next to every transfer intact;
/// at checkpoints the canary regions, the namespaces' Identify data and every stored block
/// outside the ranges written since are checked. Inline controllers are stepped by the fuzzer,
/// so a run is a pure function of its seed.
/// </summary>
internal sealed unsafe partial class SqeFuzzer : IDisposable
{
    /// <summary>Inline: device passes without a completion before a command counts as hung.</summary>
    private const int IdleStepLimit = 64;
    /// <summary>Threaded: the same, in time (the device thread shares two busy cores).</summary>
    private static readonly TimeSpan ThreadedWaitLimit = TimeSpan.FromSeconds(30);
    private const int CheckpointInterval = 1000;
    private const int HistoryLength = 12;

    private readonly FuzzConfig _config;
    private readonly ulong _seed;
    private readonly Random _random;
    private readonly string _directory;
    private readonly EmulatedController _controller;
    private readonly NvmeTransport _transport;
    private readonly FuzzMemory _memory;
    private readonly FlightRecorder _recorder;
    private readonly TextWriter? _trace;
    private readonly Queue<string> _history = new();
    private readonly List<(nint At, byte[] Expected)> _edgeCanaries = [];
    private FuzzState _state = null!;
    private CommandOracle _oracle = null!;
    private SqeGenerator _generator = null!;
    private HostSq _adminSq = null!;
    private HostCq _adminCq = null!;
    private long _index;
    private Sabotage? _sabotage;
    private FuzzCommand? _current;
    private CompletionEntry? _currentCompletion;

    private SqeFuzzer(FuzzConfig config, ulong seed, TextWriter? trace)
    {
        _config = config;
        _seed = seed;
        _trace = trace;
        _random = new Random((int)(XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(config.Name), (long)seed) & int.MaxValue));
        _directory = Directory.CreateTempSubdirectory("pnvme-fuzz-").FullName;
        try
        {
            _controller = EmulatedController.Create(config.Options(_directory));
            _transport = _controller.Transport;
            _memory = new FuzzMemory(_transport, config.IoQueuePairs, config.MaxQueueEntries, config.MaxTransferBytes, _random);
            _recorder = new FlightRecorder(Path.Combine(_directory, "in-flight.txt"), $"SQE fuzzer, config {config.Name}, seed 0x{seed:X}\n");
        }
        catch
        {
            _controller?.Dispose();
            _memory?.Dispose();
            Directory.Delete(_directory, recursive: true);
            throw;
        }
    }

    public FuzzStats Stats { get; } = new();
    private RegisterWindow Registers => ((PcieTransport)_transport).Registers;
    private ControllerModel Model => _state.Model;

    /// <summary>
    /// Runs <paramref name="count"/> fuzzed commands on a fresh controller of <paramref name="config"/>.
    /// <paramref name="sabotage"/> (the fuzzer's own tests) runs once, after the command it names,
    /// to break the device or the memory behind the fuzzer's back: the run must then fail.
    /// </summary>
    /// <exception cref="FuzzViolationException">The device broke a rule; the message has the seed, the command and how to reproduce it.</exception>
    public static FuzzStats Run(FuzzConfig config, ulong seed, long count, TextWriter progress, bool trace, Sabotage? sabotage = null)
    {
        using var fuzzer = new SqeFuzzer(config, seed, trace ? progress : null) { _sabotage = sabotage };
        progress.WriteLine($"SQE fuzzer: config {config.Describe()}; seed 0x{seed:X}; {count} commands. If the test host dies, the batch in flight is in {fuzzer._recorder.Path}");
        var clock = Stopwatch.StartNew();
        try
        {
            fuzzer.Start();
            fuzzer.Loop(count, progress);
        }
        catch (FuzzViolationException e)
        {
            throw new FuzzViolationException(fuzzer.Report(e.Message, count));
        }
        fuzzer.Stats.Elapsed = clock.Elapsed;
        return fuzzer.Stats;
    }

    private void Loop(long count, TextWriter progress)
    {
        long nextCheckpoint = CheckpointInterval;
        long nextProgress = Math.Max(count / 10, 100_000);
        while (_index < count)
        {
            int roll = _random.Next(1000);
            if (roll < 3)
                RegisterAction();
            else if (roll < 70)
                SoloAdmin();
            else if (roll < 80)
                DeleteUnderLoad();
            else
                MixedBatch();
            RestoreIoQueues();
            EnsureShadowDoorbells();
            if (_sabotage is { } sabotage && _index >= sabotage.AfterCommand)
            {
                // Between two checkpoints with no command between them: whatever it breaks, only it can have broken.
                _sabotage = null;
                Checkpoint();
                sabotage.Act(_controller, _memory);
                Checkpoint();
            }
            if (_index >= nextCheckpoint)
            {
                Checkpoint();
                nextCheckpoint = _index + CheckpointInterval;
            }
            if (_index >= nextProgress)
            {
                progress.WriteLine($"  {_config.Name}: {_index} commands, {Stats.Checkpoints} checkpoints clean");
                nextProgress += Math.Max(count / 10, 100_000);
            }
        }
        Checkpoint();
        CheckDeviceAlive();
        Stats.Commands = _index;
    }

    /// <summary>Up to 8 I/O and admin commands over the live queues, run together.</summary>
    private void MixedBatch()
    {
        _generator.BeginBatch();
        var batch = new List<FuzzCommand>();
        int n = _random.Next(1, 9);
        for (int i = 0; i < n; i++)
        {
            FuzzCommand c;
            if (_random.Next(100) < 22)
            {
                if (_adminSq.Free - _adminSq.Reserved < 2)
                    continue;
                var entry = _generator.AdminCommand(batch, allowAsyncEvent: _adminSq.Free - _adminSq.Reserved >= 4, out string shape);
                if (!TryNewCommand(_adminSq, entry, shape, admin: true, out c))
                    continue;
            }
            else
            {
                var sq = PickIoQueue();
                if (sq is null || !TryNewCommand(sq, _generator.IoCommand(out string shape), shape, admin: false, out c))
                    continue;
            }
            if (!c.Solo)
            {
                batch.Add(c);
                continue;
            }
            // It reads host bytes another command of the batch could change, or writes where lists are: alone.
            if (batch.Count != 0)
            {
                Execute(batch);
                batch = [];
                Rejudge(c);
            }
            Execute([c]);
        }
        if (batch.Count != 0)
            Execute(batch);
    }

    /// <summary>One command that changes queues, features or formats, alone.</summary>
    private void SoloAdmin()
    {
        _generator.BeginBatch();
        var entry = _generator.SoloAdminCommand(_config.FormatPercent, out string shape);
        Execute([NewCommand(_adminSq, entry, shape, admin: true)]);
    }

    /// <summary>I/O commands on a queue and, in the same batch, the deletion of that queue.</summary>
    private void DeleteUnderLoad()
    {
        var sq = PickIoQueue();
        if (sq is null)
            return;
        _generator.BeginBatch();
        var batch = new List<FuzzCommand>();
        int n = _random.Next(1, Math.Min(sq.Free, 6) + 1);
        for (int i = 0; i < n && sq.Free - sq.Reserved > 0; i++)
        {
            if (!TryNewCommand(sq, _generator.IoCommand(out string shape), shape, admin: false, out var c))
                continue;
            if (c.Solo)
            {
                Execute([c]);
                continue;
            }
            // The deletion runs first (inline) or races with them (threaded): they complete, complete as aborted, or never.
            c.MayVanish = true;
            c.Allowed |= Outcome.AbortedSqDeletion;
            batch.Add(c);
        }
        var delete = new SubmissionEntry { Opcode = (byte)AdminOpcode.DeleteIoSubmissionQueue, Cdw10 = sq.Id };
        batch.Add(NewCommand(_adminSq, delete, $"delete-sq qid {sq.Id} under load", admin: true));
        Execute(batch);
    }

    private HostSq? PickIoQueue()
    {
        HostSq? chosen = null;
        int seen = 0;
        foreach (var sq in _state.IoSqs())
            if (sq.Free - sq.Reserved > 0 && _random.Next(++seen) == 0)
                chosen = sq;
        return chosen;
    }

    /// <summary>Wraps an entry: reserves its command id in <paramref name="sq"/> and lets the oracle judge it.</summary>
    private FuzzCommand NewCommand(HostSq sq, SubmissionEntry entry, string shape, bool admin)
        => TryNewCommand(sq, entry, shape, admin, out var c) ? c
            : throw new InvalidOperationException($"fuzzer bug: a command of its own names the fuzzer's memory: {c}");

    /// <summary>
    /// As <see cref="NewCommand"/>, but withdraws the command (false) when its pointers lead
    /// into the fuzzer's own memory: stale bytes read as PRP entries can hold any IOVA, and the
    /// device would rightly write a Read's data into a ring or the canary region.
    /// </summary>
    private bool TryNewCommand(HostSq sq, SubmissionEntry entry, string shape, bool admin, out FuzzCommand c)
    {
        entry.CommandId = sq.NextCommandId(lowest: _random.Next(2) == 0);
        c = new FuzzCommand { Entry = entry, Sq = sq, Admin = admin, Shape = shape, Index = _index };
        sq.Outstanding.Add(entry.CommandId, c);
        _oracle.Judge(c);
        if (!c.Writes.Concat(c.Reads).Concat(c.ContentRanges).All(_memory.IsCommandMemory))
        {
            sq.Outstanding.Remove(entry.CommandId);
            if (c.IsAsyncEvent && c.MayVanish)
                Model.HeldAsyncEvents--;
            Stats.Withdrawn++;
            return false;
        }
        sq.Reserved++;
        _index++;
        return true;
    }

    /// <summary>Judges a command again after other commands ran (the host bytes it names may have changed).</summary>
    private void Rejudge(FuzzCommand c)
    {
        var fresh = new FuzzCommand { Entry = c.Entry, Sq = c.Sq, Admin = c.Admin, Shape = c.Shape, Index = c.Index };
        _oracle.Judge(fresh);
        c.CopyJudgementFrom(fresh);
    }

    /// <summary>Places the batch in the rings, rings each doorbell once, and drives the device until every command that must complete did.</summary>
    private void Execute(List<FuzzCommand> batch)
    {
        _recorder.Record(batch);
        foreach (var c in batch)
        {
            Remember(c.Summary());
            _trace?.WriteLine(c.ToString());
        }
        SetEdgeCanaries(batch);
        PlaceAndRing(batch);
        Stats.Batches++;
        Drive(batch);
        FinalizeDeletedQueues();
        CheckEdgeCanaries(batch);
        CheckReady("after the batch");
    }

    /// <summary>Writes the entries into their rings in order, then each SQ's tail doorbell once.</summary>
    private void PlaceAndRing(List<FuzzCommand> batch)
    {
        var rung = new List<HostSq>(2);
        foreach (var c in batch)
        {
            var sq = c.Sq;
            c.Slot = sq.Tail;
            sq.Ring[sq.Tail] = c.Entry;
            sq.Tail = (sq.Tail + 1) % sq.Entries;
            sq.Reserved--;
            if (!rung.Contains(sq))
                rung.Add(sq);
        }
        foreach (var sq in rung)
            RingSq(sq);
    }

    private void Drive(List<FuzzCommand> batch)
    {
        int idle = 0;
        var clock = Stopwatch.StartNew();
        while (batch.Exists(c => !c.Completed && !c.MayVanish))
        {
            Advance();
            if (ReapAll() != 0)
            {
                idle = 0;
                clock.Restart();
                continue;
            }
            if (_controller.Mode == EmulatedControllerMode.Inline ? ++idle > IdleStepLimit : clock.Elapsed > ThreadedWaitLimit)
            {
                _current = batch.Find(c => !c.Completed && !c.MayVanish);
                CheckReady("with commands waiting");   // a controller that went fatal explains the silence
                throw new FuzzViolationException(_controller.Mode == EmulatedControllerMode.Inline
                    ? $"hang: no completion after {IdleStepLimit} device passes"
                    : $"hang: no completion within {ThreadedWaitLimit.TotalSeconds} s");
            }
            if (_controller.Mode == EmulatedControllerMode.Threaded)
                Thread.Yield();
        }
    }

    /// <summary>Lets the device run: one inline pass, or (threaded) a check that the device thread is alive and a wake-up if it sleeps.</summary>
    private void Advance()
    {
        try
        {
            if (_controller.Mode == EmulatedControllerMode.Inline)
                _controller.Step();
            else if (_controller.DeviceFailure is { } failure)
                throw failure;
            else
                _controller.Core.DeviceWake?.Wake();   // the fuzzer's raw register writes bypass the transport's wake-up
        }
        catch (Exception e)
        {
            throw new FuzzViolationException($"an exception escaped the device: {e}");
        }
    }

    private void CheckDeviceAlive() => Advance();

    /// <summary>CSTS must say ready, not fatal, no shutdown.</summary>
    private void CheckReady(string when)
    {
        uint csts = Registers.Read32(ControllerRegisters.Csts);
        if ((csts & ControllerStatus.Ready) == 0 || (csts & ControllerStatus.Fatal) != 0 || ((csts >> ControllerStatus.ShstShift) & ControllerStatus.ShstMask) != 0)
            throw new FuzzViolationException($"CSTS 0x{csts:X} {when}: the controller is not ready (RDY=1, CFS=0, SHST=00b expected); last enable error: {_controller.LastEnableError ?? "none"}");
    }

    private void Remember(string line)
    {
        if (_history.Count == HistoryLength)
            _history.Dequeue();
        _history.Enqueue(line);
    }

    /// <summary>The failure report: what broke, the seed, the command (all 16 dwords) and its completion, the last commands, how to rerun.</summary>
    private string Report(string violation, long count)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"SQE fuzzer: {violation}");
        sb.AppendLine($"  config {_config.Describe()}");
        sb.AppendLine($"  seed 0x{_seed:X}, at command #{_index} of {count}");
        if (_current is { } c)
        {
            sb.AppendLine($"  command: {c}");
            // The PRP lists (and range lists) the oracle read, as they are now.
            foreach (var r in c.ContentRanges.Take(4))
            {
                var region = _memory.RegionOf((byte*)r.Host);
                var qwords = Enumerable.Range(0, Math.Min(r.Length / 8, 8)).Select(i => ((ulong*)r.Host)[i].ToString("X16"));
                sb.AppendLine($"    read by the oracle at {region?.Name} + 0x{r.Host - (nint)(region is null ? null : region.Host):X} ({r.Length} bytes): {string.Join(" ", qwords)}");
            }
        }
        if (_currentCompletion is { } e)
            sb.AppendLine($"  completion: DW0 0x{e.Result:X8} DW1 0x{e.Dw1:X8} SQHD {e.SqHead} SQID {e.SqId} CID {e.CommandId} status 0x{e.Status:X4} ({new NvmeStatus(e.Status)}) phase {(e.Phase ? 1 : 0)}");
        sb.AppendLine("  last commands:");
        foreach (var line in _history)
            sb.AppendLine($"    {line}");
        if (_state is not null)
            foreach (var ns in Model.Namespaces)
                sb.AppendLine($"  model: {ns}");
        sb.AppendLine($"  rerun: make fuzz SEED=0x{_seed:X} ONLY={_config.Name} N={_index + 1} TRACE=1");
        return sb.ToString();
    }

    public void Dispose()
    {
        _controller.Dispose();   // first: the device may still hold the memory's mappings
        _memory.Dispose();
        _recorder.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
