using System.Diagnostics;
using System.Runtime.CompilerServices;
using PolledNvme.Queues;

namespace PolledNvme.Driver;

/// <summary>
/// Sleeping instead of spinning (<see cref="Driver.PollMode"/>): an Adaptive pair spins for
/// <see cref="NvmeControllerOptions.AdaptiveSpinTime"/> after its last completion (less when its
/// thread loses the CPU: <see cref="SpinWindow"/>), then sleeps on its completion interrupt; an
/// Interrupt pair sleeps whenever nothing is ready. Wait, Drain,
/// <see cref="PollOrSleep"/>, a <see cref="Poller"/> and a <see cref="CompletionWaitSet"/> use it.
/// <para>
/// Lost-wakeup ordering: (1) ProcessCompletions consumed what was there and published the CQ
/// head; (2) arm: consume the pending interrupt signal (eventfd read); (3) full fence; (4)
/// re-check the CQ; (5) sleep on the fd. A completion posted before (2) is seen by (4); its
/// interrupt, if it comes after (2), leaves the fd readable, so (5) returns at once. A device
/// that skips the interrupt for entries the host has consumed (the emulated controller) reads
/// the head doorbell after a fence of its own, so it either signals or (4) sees the entry.
/// </para>
/// </summary>
public sealed partial class IoQueuePair
{
    /// <summary>Longest single sleep: Wait and Drain check CSTS, their timeout and cancellation at least this often.</summary>
    internal const int SleepSliceMs = 100;

    private readonly long _adaptiveSpinTicks;
    private SpinWindow _spin;   // Adaptive: the empty polls since the last completion
    private bool _slept;

    /// <summary>How this pair waits when nothing is ready; fixed at creation (<see cref="NvmeController.CreateIoQueuePair(int, Driver.PollMode)"/>).</summary>
    public PollMode PollMode { get; }

    /// <summary>Times this pair went to sleep on its completion interrupt (a counter of the owning thread).</summary>
    public long Sleeps { get; private set; }

    /// <summary>
    /// <see cref="ProcessCompletions"/>, then, when nothing was ready and commands are outstanding,
    /// what <see cref="PollMode"/> says: Spin returns 0 at once; Adaptive returns 0 while within
    /// its spin time since the last completion, then sleeps; Interrupt sleeps. A sleep lasts until
    /// the completion interrupt or at most 100 ms (so the caller's own checks keep running); the
    /// completions it brings are reaped before this returns. Owning thread only.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called from a thread that does not own the pair.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int PollOrSleep(int max = int.MaxValue)
    {
        int reaped = ProcessCompletions(max);
        if (reaped != 0 || PollMode == PollMode.Spin)
        {
            _spin.Reset();
            return reaped;
        }
        return IdlePoll(max);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private int IdlePoll(int max)
    {
        if (_wire.InFlight == 0)
        {
            _spin.Reset();   // nothing to wait for: the next command starts a fresh spin window
            return 0;
        }
        if (PollMode == PollMode.Adaptive && !_spin.ShouldSleep(Stopwatch.GetTimestamp(), _adaptiveSpinTicks))
            return 0;
        return SleepUntilCompletion(max, SleepSliceMs);
    }

    /// <summary>Arms, re-checks, sleeps (the ordering in the class remarks); returns what it reaped.</summary>
    private int SleepUntilCompletion(int max, int timeoutMs)
    {
        int reaped = ArmAndRecheck(max);
        if (reaped != 0 || _wire.MustKeepPolling)
            return reaped;
        Sleeps++;
        _slept = true;
        WaitSyscalls.WaitReadable(_wire.CompletionWaitFd, timeoutMs);
        _wire.DisarmCompletionWait();
        reaped = _wire.ProcessCompletions(max);
        if (reaped != 0)
            _spin.Reset();
        return reaped;
    }

    /// <summary>Steps (2)-(4) of the ordering: consume the pending signal, fence, re-check. Returns what the re-check reaped.</summary>
    internal int ArmAndRecheck(int max = int.MaxValue)
    {
        CheckOwnerThread();
        _wire.ArmCompletionWait();
        Interlocked.MemoryBarrier();
        int reaped = _wire.ProcessCompletions(max);
        if (reaped != 0)
        {
            _wire.DisarmCompletionWait();
            _spin.Reset();
        }
        return reaped;
    }

    /// <summary>After a shared wait (<see cref="CompletionWaitSet"/>) woke: this pair polls again.</summary>
    internal void DisarmCompletionWait()
    {
        CheckOwnerThread();
        _wire.DisarmCompletionWait();
    }

    /// <summary>The fd a <see cref="CompletionWaitSet"/> waits on for this pair.</summary>
    internal int CompletionWaitFd => _wire.CompletionWaitFd;

    /// <summary>Whether the pair must not sleep now (NVMe/TCP: PDUs waiting to be sent).</summary>
    internal bool MustKeepPolling => _wire.MustKeepPolling;

    /// <summary>Whether the last poll slept (then Wait and Drain make their checks); clears it.</summary>
    private bool TakeSlept()
    {
        bool slept = _slept;
        _slept = false;
        return slept;
    }
}
