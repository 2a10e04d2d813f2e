using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Protection;
using PolledNvme.Queues;

namespace PolledNvme.Conformance;

/// <summary>An expectation did not hold; the message says what was expected and what happened.</summary>
public sealed class ExpectationFailure(string message) : Exception(message);

/// <summary>What an expectation runs against: a controller, its first namespace, one I/O queue pair.</summary>
public sealed class ConformanceTarget(NvmeController controller, IoQueuePair queue, ControllerKind kind, ConformanceFormat? format)
{
    /// <summary>The controller under test.</summary>
    public NvmeController Controller { get; } = controller;
    /// <summary>The I/O queue pair the checks use.</summary>
    public IoQueuePair Queue { get; } = queue;
    /// <summary>Emulated or QEMU.</summary>
    public ControllerKind Kind { get; } = kind;
    /// <summary>The format the namespace is expected to have (null: whatever it has).</summary>
    public ConformanceFormat? Format { get; } = format;
    /// <summary>Namespace 1.</summary>
    public Namespace Ns => Controller.Namespaces[0];
    /// <summary>Set by a check that met a named QEMU deviation instead of the spec's behaviour.</summary>
    public string? DeviationSeen { get; set; }

    /// <summary>Where I/O of the checks starts; away from LBA 0, which QEMU treats specially (PI.md §5).</summary>
    public const ulong Slba = 37;
    /// <summary>Blocks per PI check.</summary>
    public const int Blocks = 4;
    /// <summary>Application tag used by the PI checks (not the FFFFh escape).</summary>
    public const ushort AppTag = 0x1234;

    /// <summary>A DMA buffer of <paramref name="bytes"/>, or null when zero bytes are needed.</summary>
    public DmaBuffer? Allocate(long bytes) => bytes == 0 ? null : Controller.Memory.Allocate(checked((int)bytes));

    /// <summary>PI options for the checks: app tag <see cref="AppTag"/> fully masked; the reference tag defaults to the SLBA's.</summary>
    public IoProtectionOptions Pi(bool pract, PiChecks checks)
    {
        if (Ns.PiType == PiType.Type3) checks &= ~PiChecks.ReferenceTag;   // Type 3 has no reference tag to check (§5)
        checks &= ~PiChecks.StorageTag;                                     // STS 0 (QEMU reports no storage tag, §2)
        return new IoProtectionOptions { Pract = pract, Checks = checks, ApplicationTag = AppTag, ApplicationTagMask = 0xFFFF };
    }

    /// <summary>Runs <paramref name="io"/>, which must fail with <paramref name="expected"/> (SCT/SC); returns the status seen.</summary>
    public NvmeStatus ExpectStatus(string what, NvmeStatus expected, Action io)
    {
        try
        {
            io();
        }
        catch (NvmeException e)
        {
            if (e.Status.TypeAndCode != expected.TypeAndCode)
                throw new ExpectationFailure($"{what}: expected {expected}, got {e.Status}.");
            return e.Status;
        }
        throw new ExpectationFailure($"{what}: expected {expected}, but the command succeeded.");
    }

    /// <summary>Throws <see cref="ExpectationFailure"/> with <paramref name="message"/> unless <paramref name="condition"/>.</summary>
    public static void Require(bool condition, string message)
    {
        if (!condition) throw new ExpectationFailure(message);
    }

    /// <summary>Compares two byte ranges and names the first difference.</summary>
    public static void RequireEqual(ReadOnlySpan<byte> actual, ReadOnlySpan<byte> expected, string what)
    {
        if (actual.Length != expected.Length)
            throw new ExpectationFailure($"{what}: {actual.Length} bytes, expected {expected.Length}.");
        int at = actual.CommonPrefixLength(expected);
        if (at != actual.Length)
            throw new ExpectationFailure($"{what}: byte {at} is 0x{actual[at]:X2}, expected 0x{expected[at]:X2}.");
    }

    /// <summary>
    /// The PI tuple of <paramref name="block"/> inside the buffers of an I/O with PRACT = 0:
    /// in the data buffer after each block (extended LBA) or in the metadata buffer, at the start
    /// of the metadata (PI first) or at its end (PI last), PI.md §1.
    /// </summary>
    public Span<byte> PiTuple(DmaBuffer data, DmaBuffer? metadata, int block)
        => TupleIn(Ns, data.Span, metadata is null ? default : metadata.Span, block);

    /// <summary>Like <see cref="PiTuple"/>, over plain spans laid out for namespace <paramref name="ns"/>.</summary>
    public static Span<byte> TupleIn(Namespace ns, Span<byte> data, Span<byte> metadata, int block)
    {
        int piSize = ns.CurrentFormat.PiSize, ms = ns.MetadataSize;
        int inMetadata = ns.PiLocation == PiLocation.First ? 0 : ms - piSize;
        return ns.IsExtended
            ? data.Slice(block * (ns.BlockSize + ms) + ns.BlockSize + inMetadata, piSize)
            : metadata.Slice(block * ms + inMetadata, piSize);
    }

    /// <summary>Offset of the application tag in a PI tuple (16b: bytes 2-3; 32b: 4-5; 64b: 8-9; PI.md §1).</summary>
    public int AppTagOffset => Ns.GuardFormat switch { PiGuardFormat.Guard16 => 2, PiGuardFormat.Guard32 => 4, _ => 8 };
}
