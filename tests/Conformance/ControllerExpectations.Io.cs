using PolledNvme.Driver;
using PolledNvme.Protection;
using PolledNvme.Queues;
using static PolledNvme.Conformance.ConformanceTarget;

namespace PolledNvme.Conformance;

/// <summary>Data-path expectations: transfer sizes and PRP shapes up to MDTS.</summary>
public static partial class ControllerExpectations
{
    private static void IoSizes(ConformanceTarget t)
    {
        Namespace ns = t.Ns;
        long perBlock = ns.DataBytes(1, false);
        int maxBlocks = (int)Math.Min(t.Queue.MaxTransferBytes / perBlock, 65536);
        int pageBlocks = Math.Max(1, 4096 / ns.BlockSize);
        // One block (PRP1 only), a page, a page and one block (PRP2), a few pages (PRP list),
        // 512..515 pages (a list page holds 512 entries; from 514 pages the list chains to a
        // second page), and the MDTS limit and one block below it (the longest PRP list).
        int[] sizes = [1, 2, pageBlocks, pageBlocks + 1, 2 * pageBlocks + 1, 4 * pageBlocks + 3, 17 * pageBlocks,
            512 * pageBlocks, 513 * pageBlocks, 514 * pageBlocks, 515 * pageBlocks, maxBlocks - 1, maxBlocks];
        bool pi = ns.PiType != PiType.None;
        IoProtectionOptions options = pi ? t.Pi(false, PiChecks.All) : default;
        var random = new Random(17);
        ulong slba = 100;
        int done = 0;
        foreach (int blocks in sizes.Distinct().Order())
        {
            if (blocks < 1 || blocks > maxBlocks) continue;
            if (slba + (ulong)blocks > ns.BlockCount) slba = 100;
            using DmaBuffer data = t.Allocate(ns.DataBytes(blocks, false))!;
            using DmaBuffer? meta = t.Allocate(ns.MetadataBytes(blocks, false));
            if (pi)
            {
                byte[] host = new byte[blocks * ns.BlockSize];
                random.NextBytes(host);
                HostProtection.GenerateInto(ns, in options, slba, host, data, meta, blocks);
            }
            else
            {
                random.NextBytes(data.Span);
                if (meta is not null) random.NextBytes(meta.Span);
            }
            t.Queue.Wait(t.Queue.WriteAsync(ns, slba, blocks, data, meta, options));
            using DmaBuffer back = t.Allocate(data.Length)!;
            using DmaBuffer? backMeta = meta is null ? null : t.Allocate(meta.Length);
            t.Queue.Wait(t.Queue.ReadAsync(ns, slba, blocks, back, backMeta, options));
            RequireEqual(back.Span, data.Span, $"{blocks} blocks at LBA {slba}: data read back");
            if (meta is not null) RequireEqual(backMeta!.Span, meta.Span, $"{blocks} blocks at LBA {slba}: metadata read back");
            slba += (ulong)blocks;
            done++;
        }
        Require(done >= 5, $"only {done} transfer sizes fit (MDTS {t.Queue.MaxTransferBytes} B, {ns.BlockCount} blocks)");
    }

    private static void BeyondMdts(ConformanceTarget t)
    {
        Namespace ns = t.Ns;
        int maxBlocks = (int)(t.Queue.MaxTransferBytes / ns.DataBytes(1, false));
        if (maxBlocks >= 65536) return;   // NLB, not MDTS, is the limit: nothing beyond MDTS to send
        int blocks = maxBlocks + 1;
        using DmaBuffer data = t.Allocate(ns.DataBytes(blocks, false))!;
        using DmaBuffer? meta = t.Allocate(ns.MetadataBytes(blocks, false));
        try
        {
            t.Queue.Wait(t.Queue.ReadAsync(ns, 0, blocks, data, meta));
        }
        catch (ArgumentException e) when (e.Message.Contains("MDTS", StringComparison.Ordinal))
        {
            return;
        }
        throw new ExpectationFailure($"a read of {blocks} blocks ({ns.DataBytes(blocks, false)} bytes, MDTS {t.Queue.MaxTransferBytes}) was not refused");
    }
}
