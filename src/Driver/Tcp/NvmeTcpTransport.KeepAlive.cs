using System.Diagnostics;
using System.Runtime.CompilerServices;
using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Driver.Tcp;

/// <summary>
/// Keep Alive (NVMe Base 2.0 §3.9, KATO in the admin Connect): a Keep Alive command every
/// KATO / 2, sent and reaped by whichever I/O queue pair polls when one is due — without a
/// thread of its own and without blocking: the admin queue is only tried (another thread
/// running an admin command keeps the association busy anyway). One that gets no completion
/// within KATO fails the association (<see cref="NvmeTcpError.KeepAliveExpired"/>). The check
/// on the I/O path is one timestamp compare per poll.
/// </summary>
public sealed partial class NvmeTcpTransport
{
    private static readonly long RecheckTicks = Stopwatch.Frequency / 100;   // 10 ms

    private readonly KeepAliveHandler _keepAlive;
    private long _keepAliveDue = long.MaxValue;
    private long _keepAliveInterval;
    private long _keepAliveTimeout;
    private long _keepAliveSentAt;
    private long _keepAliveLastDone;
    private volatile bool _keepAliveOutstanding;
    private int _keepAliveBusy;
    private long _keepAlivesCompleted;

    /// <summary>Keep Alive commands that completed on this transport (all associations).</summary>
    public long KeepAlivesCompleted => Interlocked.Read(ref _keepAlivesCompleted);

    /// <summary>Why keep-alive stopped (the controller refused the command), or null.</summary>
    public string? KeepAliveStopped { get; private set; }

    /// <summary>Called on every I/O poll: sends or reaps a Keep Alive when one is due.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void KeepAliveTick()
    {
        if (Stopwatch.GetTimestamp() >= Volatile.Read(ref _keepAliveDue))
            KeepAliveDue();
    }

    /// <summary>A new association: the first Keep Alive is due KATO / 2 from now.</summary>
    private void StartKeepAlive()
    {
        long now = Stopwatch.GetTimestamp();
        _keepAliveOutstanding = false;
        _keepAliveLastDone = now;
        KeepAliveStopped = null;
        if (Options.KeepAliveTimeout == TimeSpan.Zero)
        {
            Volatile.Write(ref _keepAliveDue, long.MaxValue);
            return;
        }
        _keepAliveTimeout = (long)(Options.KeepAliveTimeout.TotalSeconds * Stopwatch.Frequency);
        _keepAliveInterval = _keepAliveTimeout / 2;
        Volatile.Write(ref _keepAliveDue, now + _keepAliveInterval);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void KeepAliveDue()
    {
        if (Interlocked.CompareExchange(ref _keepAliveBusy, 1, 0) != 0)
            return;
        try
        {
            AdminQueue? admin = _admin;
            if (admin is null || _associationFailure is not null)
                return;
            long now = Stopwatch.GetTimestamp();
            if (_keepAliveOutstanding)
            {
                admin.TryProcessCompletions();
                if (!_keepAliveOutstanding)
                    return;
                if (now - _keepAliveSentAt > _keepAliveTimeout)
                {
                    OnAssociationFailed(new NvmeTcpException(NvmeTcpError.KeepAliveExpired,
                        $"{Address}: a Keep Alive got no completion within KATO ({Options.KeepAliveTimeout.TotalSeconds:0} s): the target or the path to it is gone. "
                        + "Outstanding commands fail with HostPathingError; reset the controller (NvmeController.Reset) to reconnect."));
                    return;
                }
                Volatile.Write(ref _keepAliveDue, now + RecheckTicks);
                return;
            }
            // Outstanding before the submit: another thread may reap the completion before TrySubmitBackground returns.
            _keepAliveSentAt = now;
            _keepAliveOutstanding = true;
            if (!admin.TrySubmitBackground(FabricsCommands.KeepAlive(), _keepAlive))
                _keepAliveOutstanding = false;
            if (_keepAliveOutstanding)
                Volatile.Write(ref _keepAliveDue, Math.Min(Volatile.Read(ref _keepAliveDue), now + RecheckTicks));
            else if (Volatile.Read(ref _keepAliveDue) <= now)
                Volatile.Write(ref _keepAliveDue, now + RecheckTicks);
        }
        finally
        {
            Volatile.Write(ref _keepAliveBusy, 0);
        }
    }

    private void KeepAliveCompleted(in CompletionEntry completion)
    {
        long now = Stopwatch.GetTimestamp();
        var status = new NvmeStatus(completion.Status);
        if (status.IsSuccess)
        {
            Interlocked.Increment(ref _keepAlivesCompleted);
            _keepAliveLastDone = now;
            Volatile.Write(ref _keepAliveDue, now + _keepAliveInterval);
        }
        else if (status.TypeAndCode != NvmeStatus.HostPathingError.TypeAndCode && status.TypeAndCode != NvmeStatus.AbortedSqDeletion.TypeAndCode)
        {
            // The controller answers but will not take Keep Alive: stop sending it rather than fail a live association.
            KeepAliveStopped = $"the controller refused Keep Alive: {status}";
            Volatile.Write(ref _keepAliveDue, long.MaxValue);
        }
        _keepAliveOutstanding = false;
    }

    /// <summary>For a "connection closed" message: a hint when no Keep Alive completed for longer than KATO (the target's timer likely fired).</summary>
    internal string KeepAliveHint()
    {
        if (Options.KeepAliveTimeout == TimeSpan.Zero)
            return "";
        double idle = (Stopwatch.GetTimestamp() - _keepAliveLastDone) / (double)Stopwatch.Frequency;
        return idle <= Options.KeepAliveTimeout.TotalSeconds
            ? ""
            : $" (no Keep Alive completed for {idle:0.#} s, KATO is {Options.KeepAliveTimeout.TotalSeconds:0} s: the target's keep-alive timer has probably expired; "
              + $"poll a queue pair of this controller at least every {Options.KeepAliveTimeout.TotalSeconds / 2:0.#} s while it is idle)";
    }

    private sealed class KeepAliveHandler(NvmeTcpTransport transport) : IAdminBackgroundCompletion
    {
        public void OnAdminCompleted(in CompletionEntry completion) => transport.KeepAliveCompleted(in completion);
    }
}
