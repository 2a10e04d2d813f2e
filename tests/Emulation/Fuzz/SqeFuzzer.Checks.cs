using System.IO.Hashing;
using System.Runtime.InteropServices;
using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Emulation.Fuzz;

/// <summary>
/// The checks between commands: canary bytes next to every transfer of a batch, and at
/// checkpoints the untouchable regions, each namespace's Identify data against the model, and
/// a raw read of every block against the shadow.
/// </summary>
internal sealed unsafe partial class SqeFuzzer
{
    private const int EdgeBytes = 8;

    /// <summary>Fills the bytes just before and after every host range of the batch (and not inside any) with random canaries.</summary>
    private void SetEdgeCanaries(List<FuzzCommand> batch)
    {
        _edgeCanaries.Clear();
        var ranges = new List<HostRange>();
        foreach (var c in batch)
        {
            ranges.AddRange(c.Writes);
            ranges.AddRange(c.Reads);
            ranges.AddRange(c.ContentRanges);
        }
        if (ranges.Count == 0)
            return;
        ranges.Sort((a, b) => a.Host.CompareTo(b.Host));
        var union = new List<HostRange>(ranges.Count);
        foreach (var r in ranges)
        {
            if (union.Count != 0 && r.Host <= union[^1].End)
            {
                var last = union[^1];
                union[^1] = new HostRange(last.Host, (int)(Math.Max(last.End, r.End) - last.Host));
            }
            else
                union.Add(r);
        }
        nint filled = 0;   // end of the last canary: the gap between two close ranges gets one canary, not two
        for (int i = 0; i < union.Count; i++)
        {
            // Only memory commands may name: the fuzzer writes its rings itself while the batch is under way.
            var region = _memory.RegionOf((byte*)union[i].Host);
            if (region is null || !_memory.IsCommandMemory(union[i]))
                continue;
            nint low = (nint)region.Host, high = (nint)(region.Host + region.Length);
            nint before = Math.Max(union[i].Host - EdgeBytes, Math.Max(Math.Max(low, filled), i > 0 ? union[i - 1].End : low));
            AddEdge(before, union[i].Host);
            nint after = Math.Min(union[i].End + EdgeBytes, Math.Min(high, i + 1 < union.Count ? union[i + 1].Host : high));
            AddEdge(union[i].End, after);
            filled = Math.Max(filled, after);
        }
    }

    private void AddEdge(nint from, nint to)
    {
        if (to <= from)
            return;
        var expected = new byte[to - from];
        _random.NextBytes(expected);
        expected.CopyTo(new Span<byte>((void*)from, expected.Length));
        _edgeCanaries.Add((from, expected));
    }

    private void CheckEdgeCanaries(List<FuzzCommand> batch)
    {
        foreach (var (at, expected) in _edgeCanaries)
        {
            if (new ReadOnlySpan<byte>((void*)at, expected.Length).SequenceEqual(expected))
                continue;
            var region = _memory.RegionOf((byte*)at);
            string where = region is null ? $"0x{at:X}" : $"{region.Name} + 0x{at - (nint)region.Host:X}";
            nint end = at + expected.Length;
            var neighbours = batch.Where(c => c.Writes.Concat(c.Reads).Concat(c.ContentRanges).Any(r => r.End == at || r.Host == end)).ToList();
            _current = neighbours.Count == 1 ? neighbours[0] : batch.Count == 1 ? batch[0] : null;
            throw new FuzzViolationException($"{expected.Length} canary bytes at {where} changed from {Convert.ToHexString(expected)} to "
                + $"{Convert.ToHexString(new ReadOnlySpan<byte>((void*)at, expected.Length))}: the device wrote outside what the commands described. "
                + $"Transfers ending or starting there: {string.Join("; ", neighbours.Select(c => c.Summary()))}. Batch: {string.Join("; ", batch.Select(c => c.Summary()))}");
        }
        _edgeCanaries.Clear();
    }

    /// <summary>Checks everything that is not checked per command, then takes the next snapshot.</summary>
    private void Checkpoint()
    {
        Stats.Checkpoints++;
        CheckReady("at a checkpoint");
        if (_memory.CheckCanaryRegions() is { } damage)
            throw new FuzzViolationException(damage);
        RestoreIoQueues();
        if (!Model.Lbafee && Model.ExtendedFormatsSupported && Model.Namespaces.Any(ns => ns.Format.NeedsLbafee))
            SetLbafee();
        var sq = _state.IoSqs().First();
        foreach (var ns in Model.Namespaces)
        {
            CheckIdentify(ns);
            if (!Model.FormatLocked(ns))
                CheckBlocks(ns, sq);
        }
    }

    private void SetLbafee()
    {
        var buffer = _memory.OracleLists;
        int offset = buffer.AlignedOffset(0, Model.PageSize);
        buffer.Span.Slice(offset, 512).Clear();
        buffer.Span[offset + 2] = 1;
        var e = new SubmissionEntry { Opcode = (byte)AdminOpcode.SetFeatures, Cdw10 = (uint)FeatureId.HostBehaviorSupport, Prp1 = buffer.Iova + (ulong)offset };
        RunChecked(_adminSq, e, "set LBAFEE", admin: true);
    }

    /// <summary>Identify Namespace must describe the format the model says Format NVM selected (and nothing else may have changed it).</summary>
    private void CheckIdentify(NamespaceModel ns)
    {
        var page = _memory.OracleData;
        int offset = page.AlignedOffset(0, Model.PageSize);
        var e = new SubmissionEntry { Opcode = (byte)AdminOpcode.Identify, NamespaceId = ns.Id, Prp1 = page.Iova + (ulong)offset, Cdw10 = (uint)IdentifyCns.Namespace };
        RunChecked(_adminSq, e, $"identify ns {ns.Id}", admin: true);
        var id = MemoryMarshal.Read<IdentifyNamespace>(page.Span.Slice(offset, IdentifyNamespace.Size));
        if (id.Nsze != (ulong)ns.BlockCount || id.FormatIndex != ns.FormatIndex || id.ExtendedMetadata != ns.ExtendedLba
            || id.PiType != ns.PiType || (ns.PiType != 0 && id.PiFirst != ns.PiFirst))
            throw new FuzzViolationException($"Identify Namespace {ns.Id} reports NSZE {id.Nsze}, LBAF {id.FormatIndex}, extended {id.ExtendedMetadata}, "
                + $"PI {id.PiType} (first {id.PiFirst}); the successful commands so far leave {ns}");
    }

    /// <summary>Reads every block raw (PRACT 0, no checks) and compares with the shadow.</summary>
    private void CheckBlocks(NamespaceModel ns, HostSq sq)
    {
        int bs = ns.BlockSize, ms = ns.MetadataSize;
        int hostBlock = bs + (ns.ExtendedLba ? ms : 0);
        int chunk = Math.Min(65536, Model.MaxTransferBytes / hostBlock);
        var data = _memory.OracleData;
        int dataOffset = data.AlignedOffset(0, Model.PageSize);
        var hashes = new ulong[ns.BlockCount];
        for (long lba = 0; lba < ns.BlockCount; lba += chunk)
        {
            int n = (int)Math.Min(chunk, ns.BlockCount - lba);
            var e = new SubmissionEntry
            {
                Opcode = (byte)NvmOpcode.Read,
                NamespaceId = ns.Id,
                Cdw10 = (uint)lba,
                Cdw11 = (uint)(lba >> 32),
                Cdw12 = (uint)(n - 1),
                MetadataPointer = _memory.OracleMetadata.Iova,
            };
            OraclePointer(ref e, data.Iova + (ulong)dataOffset, n * hostBlock);
            RunChecked(sq, e, $"read ns {ns.Id} lba {lba}+{n}", admin: false);
            var bytes = data.Span.Slice(dataOffset, n * hostBlock);
            var metadata = _memory.OracleMetadata.Span;
            for (int b = 0; b < n; b++)
            {
                hashes[lba + b] = ns.ExtendedLba || ms == 0
                    ? XxHash3.HashToUInt64(bytes.Slice(b * hostBlock, hostBlock))
                    : XxHash3.HashToUInt64(bytes.Slice(b * bs, bs), (long)XxHash3.HashToUInt64(metadata.Slice(b * ms, ms)));
            }
        }
        long changed = _state.Shadow.Compare(ns.Id, hashes);
        if (changed >= 0)
            throw new FuzzViolationException($"block {changed} of namespace {ns.Id} changed since the last checkpoint, but no successful write-like command covered it "
                + $"(a failed command stored data, or one wrote outside its range); {ns}");
    }

    /// <summary>PRPs for a contiguous, page-aligned oracle buffer: PRP1, PRP2, or a list in the oracle's list region.</summary>
    private void OraclePointer(ref SubmissionEntry e, ulong start, int bytes)
    {
        int page = Model.PageSize;
        e.Prp1 = start;
        if (bytes <= page)
            return;
        if (bytes <= 2 * page)
        {
            e.Prp2 = start + (ulong)page;
            return;
        }
        var lists = _memory.OracleLists;
        int offset = lists.AlignedOffset(0, page);
        ulong* entry = (ulong*)(lists.Host + offset);
        int pages = (bytes + page - 1) / page;
        for (int i = 1; i < pages; i++)
            entry[i - 1] = start + (ulong)i * (ulong)page;
        e.Prp2 = lists.Iova + (ulong)offset;
    }
}
