using System.Buffers.Binary;
using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Protection;
using PolledNvme.Queues;
using static PolledNvme.Conformance.ConformanceTarget;

namespace PolledNvme.Conformance;

/// <summary>End-to-end protection expectations (NVM CS §5.3, PI.md §5-§6).</summary>
public static partial class ControllerExpectations
{
    /// <summary>CRC-64/NVME of 4096 zero bytes (PI.md §1, all-00h row): what QEMU writes as every Write Zeroes 64b guard.</summary>
    public const ulong QemuWriteZeroesGuard64 = 0x6482D367EB22B64E;

    private static void PractInsertRawReadBack(ConformanceTarget t)
    {
        Namespace ns = t.Ns;
        IoProtectionOptions pi = t.Pi(pract: true, PiChecks.All);
        bool dropped = ns.MetadataDropped(true);
        using DmaBuffer data = t.Allocate(ns.DataBytes(Blocks, true))!;
        using DmaBuffer? meta = t.Allocate(ns.MetadataBytes(Blocks, true));
        new Random(1).NextBytes(data.Span);
        meta?.Span.Fill(0x77);
        t.Queue.Wait(t.Queue.WriteAsync(ns, Slba, Blocks, data, meta, pi));

        // PRACT=1 read: the controller checks every field and (MS == PI size) strips the PI.
        using DmaBuffer back = t.Allocate(data.Length)!;
        using DmaBuffer? backMeta = meta is null ? null : t.Allocate(meta.Length);
        t.Queue.Wait(t.Queue.ReadAsync(ns, Slba, Blocks, back, backMeta, pi));
        if (dropped) RequireEqual(back.Span, data.Span, "PRACT=1 read of data-only blocks");

        // Raw read (PRACT=0, no checks): the stored PI must equal the Protection stage's generation.
        using DmaBuffer raw = t.Allocate(ns.DataBytes(Blocks, false))!;
        using DmaBuffer? rawMeta = t.Allocate(ns.MetadataBytes(Blocks, false));
        t.Queue.Wait(t.Queue.ReadAsync(ns, Slba, Blocks, raw, rawMeta, default));
        for (int block = 0; block < Blocks; block++)
            RequireEqual(BlockData(ns, raw, block, extended: ns.IsExtended), BlockData(ns, data, block, extended: ns.IsExtended && !dropped),
                $"data of block {block} read back raw");
        byte[] expected = raw.Span.ToArray();
        byte[] expectedMeta = rawMeta?.Span.ToArray() ?? [];
        HostProtection.CreateContext(ns, in pi, Slba).Generate(expected, expectedMeta, Blocks);
        RequireEqual(raw.Span, expected, "stored data+PI vs the host engine's generation");
        if (rawMeta is not null) RequireEqual(rawMeta.Span, expectedMeta, "stored metadata vs the host engine's generation");
    }

    private static void HostPiAccepted(ConformanceTarget t)
    {
        Namespace ns = t.Ns;
        IoProtectionOptions pi = t.Pi(pract: false, PiChecks.All);
        byte[] host = new byte[Blocks * ns.BlockSize];
        new Random(2).NextBytes(host);
        using DmaBuffer data = t.Allocate(ns.DataBytes(Blocks, false))!;
        using DmaBuffer? meta = t.Allocate(ns.MetadataBytes(Blocks, false));
        HostProtection.GenerateInto(ns, in pi, Slba, host, data, meta, Blocks);
        t.Queue.Wait(t.Queue.WriteAsync(ns, Slba, Blocks, data, meta, pi));
        using DmaBuffer back = t.Allocate(data.Length)!;
        using DmaBuffer? backMeta = meta is null ? null : t.Allocate(meta.Length);
        t.Queue.Wait(t.Queue.ReadAsync(ns, Slba, Blocks, back, backMeta, pi));
        RequireEqual(back.Span, data.Span, "data (and interleaved PI) read back with every check");
        if (meta is not null) RequireEqual(backMeta!.Span, meta.Span, "metadata read back with every check");
        byte[] copy = new byte[host.Length];
        HostProtection.VerifyFrom(ns, in pi, Slba, back, backMeta, copy, Blocks);
        RequireEqual(copy, host, "host data after the host's own verification");
    }

    private static void CorruptionRejected(ConformanceTarget t, PiChecks field)
    {
        Namespace ns = t.Ns;
        (NvmeStatus status, string what) = field switch
        {
            PiChecks.Guard => (NvmeStatus.EndToEndGuardCheckError, "guard"),
            PiChecks.ApplicationTag => (NvmeStatus.EndToEndApplicationTagCheckError, "application tag"),
            _ => (NvmeStatus.EndToEndReferenceTagCheckError, "reference tag"),
        };
        IoProtectionOptions good = t.Pi(pract: false, PiChecks.All);
        byte[] host = new byte[Blocks * ns.BlockSize];
        new Random(3).NextBytes(host);
        using DmaBuffer data = t.Allocate(ns.DataBytes(Blocks, false))!;
        using DmaBuffer? meta = t.Allocate(ns.MetadataBytes(Blocks, false));
        HostProtection.GenerateInto(ns, in good, Slba, host, data, meta, Blocks);
        t.Queue.Wait(t.Queue.WriteAsync(ns, Slba, Blocks, data, meta, good));

        // The same blocks with one field of block 1's PI damaged.
        using DmaBuffer bad = t.Allocate(data.Length)!;
        using DmaBuffer? badMeta = meta is null ? null : t.Allocate(meta.Length);
        data.Span.CopyTo(bad.Span);
        meta?.Span.CopyTo(badMeta!.Span);
        Span<byte> tuple = t.PiTuple(bad, badMeta, 1);
        switch (field)
        {
            case PiChecks.Guard: tuple[0] ^= 0x01; break;
            case PiChecks.ApplicationTag: tuple[t.AppTagOffset] ^= 0x0F; break;   // 1234h -> 1D34h, never the FFFFh escape
            default: tuple[^1] ^= 0x01; break;                                  // the reference tag's low bits end the tuple (STS 0)
        }

        t.ExpectStatus($"write with a bad {what} and PRCHK {what}", status,
            () => t.Queue.Wait(t.Queue.WriteAsync(ns, Slba, Blocks, bad, badMeta, t.Pi(pract: false, field))));
        using DmaBuffer raw = t.Allocate(data.Length)!;
        using DmaBuffer? rawMeta = meta is null ? null : t.Allocate(meta.Length);
        t.Queue.Wait(t.Queue.ReadAsync(ns, Slba, Blocks, raw, rawMeta, default));
        RequireEqual(raw.Span, data.Span, "stored blocks after the rejected write (must be unchanged)");
        if (meta is not null) RequireEqual(rawMeta!.Span, meta.Span, "stored metadata after the rejected write");

        // Stored without checks, the damage must be caught when read with the check.
        t.Queue.Wait(t.Queue.WriteAsync(ns, Slba, Blocks, bad, badMeta, t.Pi(pract: false, PiChecks.None)));
        t.ExpectStatus($"read of a stored bad {what} with PRCHK {what}", status,
            () => t.Queue.Wait(t.Queue.ReadAsync(ns, Slba, Blocks, raw, rawMeta, t.Pi(pract: false, field))));
    }

    private static void InitialReferenceTagMismatch(ConformanceTarget t)
    {
        Namespace ns = t.Ns;
        IoProtectionOptions shifted = t.Pi(pract: false, PiChecks.ReferenceTag) with { ReferenceTag = Slba + 1 };
        byte[] host = new byte[Blocks * ns.BlockSize];
        new Random(4).NextBytes(host);
        using DmaBuffer data = t.Allocate(ns.DataBytes(Blocks, false))!;
        using DmaBuffer? meta = t.Allocate(ns.MetadataBytes(Blocks, false));
        // The PI itself carries the same (shifted) tags: only ILBRT != SLBA is wrong.
        HostProtection.GenerateInto(ns, in shifted, Slba, host, data, meta, Blocks);
        t.ExpectStatus("Type 1 write with ILBRT = SLBA + 1 and PRCHK ref", NvmeStatus.InvalidProtectionInformation,
            () => t.Queue.Wait(t.Queue.WriteAsync(ns, Slba, Blocks, data, meta, shifted)));
    }

    private static void Type3ReferenceCheck(ConformanceTarget t)
    {
        Namespace ns = t.Ns;
        // Every check requested, the reference check included (ConformanceTarget.Pi would drop it for Type 3).
        var pi = new IoProtectionOptions { Checks = PiChecks.Guard | PiChecks.ApplicationTag | PiChecks.ReferenceTag, ApplicationTag = AppTag, ApplicationTagMask = 0xFFFF };
        byte[] host = new byte[Blocks * ns.BlockSize];
        new Random(6).NextBytes(host);
        using DmaBuffer data = t.Allocate(ns.DataBytes(Blocks, false))!;
        using DmaBuffer? meta = t.Allocate(ns.MetadataBytes(Blocks, false));
        IoProtectionOptions generate = pi with { Checks = PiChecks.Guard | PiChecks.ApplicationTag };
        HostProtection.GenerateInto(ns, in generate, Slba, host, data, meta, Blocks);
        if (!SucceedsOrInvalidPi(t, "Type 3 write with PRCHK ref", () => t.Queue.Wait(t.Queue.WriteAsync(ns, Slba, Blocks, data, meta, pi))))
            return;   // aborted as the spec allows; nothing was stored
        using DmaBuffer back = t.Allocate(data.Length)!;
        using DmaBuffer? backMeta = meta is null ? null : t.Allocate(meta.Length);
        if (SucceedsOrInvalidPi(t, "Type 3 read with PRCHK ref", () => t.Queue.Wait(t.Queue.ReadAsync(ns, Slba, Blocks, back, backMeta, pi))))
            RequireEqual(back.Span, data.Span, "Type 3 blocks read back with PRCHK ref");
    }

    /// <summary>True when <paramref name="io"/> succeeded, false when it failed with Invalid Protection Information; any other outcome fails the check.</summary>
    private static bool SucceedsOrInvalidPi(ConformanceTarget t, string what, Action io)
    {
        try
        {
            io();
            return true;
        }
        catch (NvmeException e) when (e.Status.TypeAndCode == NvmeStatus.InvalidProtectionInformation.TypeAndCode)
        {
            return false;
        }
        catch (NvmeException e)
        {
            throw new ExpectationFailure($"{what}: expected success or {NvmeStatus.InvalidProtectionInformation}, got {e.Status}.");
        }
    }

    private static void WriteZeroesGeneratesPi(ConformanceTarget t)
    {
        Namespace ns = t.Ns;
        // Something non-zero first, so the zeroes are the command's doing.
        IoProtectionOptions fill = t.Pi(pract: false, PiChecks.None);
        using DmaBuffer data = t.Allocate(ns.DataBytes(Blocks, false))!;
        using DmaBuffer? meta = t.Allocate(ns.MetadataBytes(Blocks, false));
        byte[] host = new byte[Blocks * ns.BlockSize];
        new Random(5).NextBytes(host);
        HostProtection.GenerateInto(ns, in fill, Slba, host, data, meta, Blocks);
        t.Queue.Wait(t.Queue.WriteAsync(ns, Slba, Blocks, data, meta, fill));

        IoProtectionOptions pi = t.Pi(pract: true, PiChecks.None);   // PRCHK must be 000b for Write Zeroes (§4)
        t.Queue.Wait(t.Queue.WriteZeroesAsync(ns, Slba, Blocks, pi));
        using DmaBuffer raw = t.Allocate(data.Length)!;
        using DmaBuffer? rawMeta = meta is null ? null : t.Allocate(meta.Length);
        t.Queue.Wait(t.Queue.ReadAsync(ns, Slba, Blocks, raw, rawMeta, default));

        byte[] expected = new byte[raw.Length];
        byte[] expectedMeta = new byte[rawMeta?.Length ?? 0];
        HostProtection.CreateContext(ns, in pi, Slba).Generate(expected, expectedMeta, Blocks);
        bool qemuDeviation = t.Kind == ControllerKind.Qemu && ns.GuardFormat == PiGuardFormat.Guard64
            && ns.PiLocation == PiLocation.Last && ns.MetadataSize > ns.CurrentFormat.PiSize;
        if (qemuDeviation)
        {
            for (int block = 0; block < Blocks; block++)
                BinaryPrimitives.WriteUInt64BigEndian(TupleIn(ns, expected, expectedMeta, block), QemuWriteZeroesGuard64);
            t.DeviationSeen = $"PI.md §9.4: guard 0x{QemuWriteZeroesGuard64:X16} instead of the CRC over 4096 + {ns.MetadataSize - 16} zero bytes";
        }
        RequireEqual(raw.Span, expected, "zeroed blocks (data and interleaved PI) vs zeroes with generated PI");
        if (rawMeta is not null) RequireEqual(rawMeta.Span, expectedMeta, "zeroed blocks' metadata vs zeroes with generated PI");
    }

    /// <summary>Block <paramref name="block"/>'s data bytes in a buffer with (extended) or without interleaved metadata.</summary>
    private static ReadOnlySpan<byte> BlockData(Namespace ns, DmaBuffer buffer, int block, bool extended)
        => buffer.Span.Slice(block * (ns.BlockSize + (extended ? ns.MetadataSize : 0)), ns.BlockSize);
}
