using PolledNvme.Bench.Run;
using PolledNvme.Driver;
using PolledNvme.Protection;
using PolledNvme.Queues;

namespace PolledNvme.Bench.Engines;

/// <summary>
/// One job on the driver: its own queue pair, per-slot DMA buffers allocated up front, the
/// callback form of Read/Write (a preallocated per-slot state object, a static callback: no
/// allocation per I/O), completions reaped by <see cref="IoQueuePair.ProcessCompletions"/> on
/// the job's thread. Host PI goes through <see cref="HostProtection"/> (GenerateCopy on write,
/// VerifyCopy on read), in the same pass as the copy between host and DMA buffers.
/// </summary>
internal sealed class NvmeJobEngine : IIoEngine
{
    private static readonly IoCompletionCallback OnCompletion = static (object? state, in IoResult result) =>
    {
        var slot = (Slot)state!;
        slot.Engine.Complete(slot, in result);
    };

    private readonly Namespace _ns;
    private readonly IoQueuePair _pair;
    private readonly IIoCompletionSink _sink;
    private readonly JobIoSettings _settings;
    private readonly Slot[] _slots;
    private readonly IoProtectionOptions _writePi;
    private readonly IoProtectionOptions _readPi;
    private readonly IoProtectionOptions _hostPi;
    private readonly int _maxBlocks;
    private readonly bool _direct;
    private readonly int[] _prepared;
    private int _preparedCount;

    public NvmeJobEngine(NvmeBenchTarget target, JobIoSettings settings, IIoCompletionSink sink)
    {
        _ns = target.Namespace;
        _sink = sink;
        _settings = settings;
        _maxBlocks = settings.MaxBlocksPerIo;
        var checks = settings.Checks;
        _writePi = new IoProtectionOptions { Pract = settings.WritePract, Checks = checks, ApplicationTag = settings.AppTag, ApplicationTagMask = settings.AppTagMask, StorageTag = settings.StorageTag };
        _readPi = new IoProtectionOptions { Pract = settings.ReadPract, Checks = checks, ApplicationTag = settings.AppTag, ApplicationTagMask = settings.AppTagMask, StorageTag = settings.StorageTag };
        _hostPi = _readPi with { Checks = settings.HostChecks };
        long hostBytes = (long)_maxBlocks * _ns.BlockSize;
        // Direct: the host buffer is the DMA buffer, when both directions move data only and the host does no PI.
        _direct = !settings.HostGenerate && !settings.HostVerify
            && _ns.DataBytes(1, settings.WritePract) == _ns.BlockSize && _ns.MetadataBytes(1, settings.WritePract) == 0
            && _ns.DataBytes(1, settings.ReadPract) == _ns.BlockSize && _ns.MetadataBytes(1, settings.ReadPract) == 0;

        try
        {
            _pair = target.Controller.CreateIoQueuePair(Math.Min(target.Controller.MaxQueueEntries, settings.IoDepth + 1), settings.PollMode);
        }
        catch (NotSupportedException e)
        {
            // A sleeping --poll on a transport without completion interrupts (an inline emulated controller).
            throw new Options.UsageException("--poll", e.Message);
        }
        // What one pass of the job loop submits reaches the controller at once in Poll: one SQ
        // doorbell write on PCIe (a VM exit each under a hypervisor), one send on TCP, as SPDK's perf.
        _pair.BatchDoorbells = true;
        _slots = new Slot[settings.IoDepth];
        _prepared = new int[settings.IoDepth];
        try
        {
            long dataBytes = Math.Max(_ns.DataBytes(_maxBlocks, false), hostBytes);
            long metaBytes = _ns.MetadataBytes(_maxBlocks, false);
            var memory = target.Controller.Memory;
            for (int i = 0; i < _slots.Length; i++)
            {
                var data = memory.Allocate((int)dataBytes);
                var meta = metaBytes > 0 ? memory.Allocate((int)metaBytes) : null;
                _slots[i] = new Slot(this, i, data, meta, _direct ? null : new byte[hostBytes]);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public Span<byte> HostBuffer(int slot)
    {
        var s = _slots[slot];
        return s.Host is null ? s.Data.Span[..(_maxBlocks * _ns.BlockSize)] : s.Host;
    }

    // Read/Write/Deallocate only write the SQ entry (BatchDoorbells): the command is prepared, and
    // on the device when Poll rings the doorbell (slat ends there, as on uring:).
    public bool Submit(int slot, IoDirection direction, long lba, int blocks)
    {
        var s = _slots[slot];
        s.Lba = lba;
        s.Blocks = blocks;
        s.Direction = direction;
        ulong slba = (ulong)lba;
        if (direction == IoDirection.Write)
        {
            bool pract = _settings.WritePract;
            if (_settings.HostGenerate)
                HostProtection.GenerateInto(_ns, in _writePi, slba, s.Host, s.Data, s.Metadata, blocks);
            else if (s.Host is not null)
                LayOut(s.Host, s.Data.Span, pract, blocks);
            _pair.Write(_ns, slba, blocks, s.Data, _ns.MetadataBytes(blocks, pract) == 0 ? null : s.Metadata, in _writePi, OnCompletion, s);
        }
        else if (direction == IoDirection.Read)
        {
            bool pract = _settings.ReadPract;
            _pair.Read(_ns, slba, blocks, s.Data, _ns.MetadataBytes(blocks, pract) == 0 ? null : s.Metadata, in _readPi, OnCompletion, s);
        }
        else
        {
            _pair.Deallocate(_ns, slba, blocks, OnCompletion, s);
        }
        _prepared[_preparedCount++] = slot;
        return false;
    }

    public int Poll(int maxCompletions)
    {
        if (_preparedCount > 0)
        {
            _pair.RingDoorbell();
            long now = System.Diagnostics.Stopwatch.GetTimestamp();
            for (int i = 0; i < _preparedCount; i++) _sink.OnIssued(_prepared[i], now);
            _preparedCount = 0;
        }
        // --poll: spin returns at once; adaptive and interrupt sleep on the completion interrupt when idle.
        return _pair.PollOrSleep(maxCompletions);
    }

    private void Complete(Slot s, in IoResult result)
    {
        if (!result.IsSuccess)
        {
            var status = result.Status;
            _sink.OnCompleted(s.Index, new IoOutcome(ErrorText.Classify(status), status.Value, s.Lba, result.Detail));
            return;
        }
        if (s.Direction == IoDirection.Read && s.Host is not null)
        {
            if (_settings.HostVerify)
            {
                if (!HostProtection.TryVerifyFrom(_ns, in _hostPi, (ulong)s.Lba, s.Data, s.Metadata, s.Host, s.Blocks, out PiError error))
                {
                    _sink.OnCompleted(s.Index, new IoOutcome(KindOf(error.Kind), 0, s.Lba + error.BlockIndex));
                    return;
                }
            }
            else
            {
                Gather(s.Data.Span, s.Host, _settings.ReadPract, s.Blocks);
            }
        }
        _sink.OnCompleted(s.Index, IoOutcome.Ok);
    }

    // Host data → extended-LBA DMA buffer when metadata travels with the data but the host
    // does not generate PI (PRACT=1 with MS > PI size: the controller overwrites the PI part).
    private void LayOut(ReadOnlySpan<byte> host, Span<byte> dma, bool pract, int blocks)
    {
        int stride = (int)(_ns.DataBytes(1, pract));
        int bs = _ns.BlockSize;
        if (stride == bs) { host[..(blocks * bs)].CopyTo(dma); return; }
        for (int b = 0; b < blocks; b++)
        {
            host.Slice(b * bs, bs).CopyTo(dma.Slice(b * stride, bs));
            dma.Slice(b * stride + bs, stride - bs).Clear();
        }
    }

    // Extended-LBA DMA buffer → host data (the metadata of each block is skipped).
    private void Gather(ReadOnlySpan<byte> dma, Span<byte> host, bool pract, int blocks)
    {
        int stride = (int)(_ns.DataBytes(1, pract));
        int bs = _ns.BlockSize;
        if (stride == bs) { dma[..(blocks * bs)].CopyTo(host); return; }
        for (int b = 0; b < blocks; b++)
            dma.Slice(b * stride, bs).CopyTo(host.Slice(b * bs, bs));
    }

    private static IoResultKind KindOf(PiErrorKind kind) => kind switch
    {
        PiErrorKind.Guard => IoResultKind.GuardError,
        PiErrorKind.ApplicationTag => IoResultKind.AppTagError,
        PiErrorKind.ReferenceTag => IoResultKind.RefTagError,
        PiErrorKind.StorageTag => IoResultKind.StorageTagError,
        _ => IoResultKind.OtherError,
    };

    public void Dispose()
    {
        try
        {
            if (_pair.InFlight > 0) _pair.Drain(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is TimeoutException or NvmeControllerException)
        {
            // The queue pair's Dispose fails what is left.
        }
        _pair.Dispose();
        foreach (var s in _slots)
        {
            if (s is null) continue;
            s.Data.Dispose();
            s.Metadata?.Dispose();
        }
    }

    /// <summary>Per-slot state handed to the completion callback.</summary>
    private sealed class Slot(NvmeJobEngine engine, int index, DmaBuffer data, DmaBuffer? metadata, byte[]? host)
    {
        public readonly NvmeJobEngine Engine = engine;
        public readonly int Index = index;
        public readonly DmaBuffer Data = data;
        public readonly DmaBuffer? Metadata = metadata;
        public readonly byte[]? Host = host;
        public long Lba;
        public int Blocks;
        public IoDirection Direction;
    }
}
