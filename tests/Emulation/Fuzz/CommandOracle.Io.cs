using System.Buffers.Binary;
using PolledNvme.Driver.Spec;
using PolledNvme.Protection;

namespace PolledNvme.Tests.Emulation.Fuzz;

/// <summary>
/// Decides, from the spec and the model alone, what any submission entry may do: every rule the
/// command breaks adds the status that rule calls for (a device may report any one of them);
/// a command that breaks none must succeed, or fail only in ways that depend on stored data
/// (PI checks the command asked for, Compare). It also records which host bytes the device
/// may touch and which blocks a success may change. NVM command set: NVM CS 1.0 §3, PI.md.
/// </summary>
internal sealed partial class CommandOracle(FuzzState state)
{
    private const uint AllNamespaces = 0xFFFF_FFFF;
    private const int DsmRangeSize = 16;
    private ControllerModel Model => state.Model;
    private FuzzMemory Memory => state.Memory;

    /// <summary>Fills the command's allowed statuses, host ranges, touches and effects.</summary>
    public void Judge(FuzzCommand c)
    {
        if (c.Admin)
            JudgeAdmin(c);
        else
            JudgeIo(c);
        // PRP lists and buffers the oracle read to judge the command must stay as they are until the
        // device reads them: only the list region is safe from the other commands of a batch.
        foreach (var r in c.ContentRanges)
            if (!Within(r, Memory.Lists))
                c.Solo = true;
        foreach (var r in c.Writes)
            if (Overlaps(r, Memory.Lists))
                c.Solo = true;
    }

    private static unsafe bool Within(HostRange r, GuardedRegion region)
        => r.Host >= (nint)region.Host && r.End <= (nint)(region.Host + region.Length);

    private static unsafe bool Overlaps(HostRange r, GuardedRegion region)
        => r.Host < (nint)(region.Host + region.Length) && r.End > (nint)region.Host;

    private static Outcome FlagsRule(in PolledNvme.Queues.SubmissionEntry e)
        => (e.Flags & 0xC3) != 0 ? Outcome.InvalidFieldInCommand : Outcome.None;   // fused operations, SGLs (PSDT)

    private void JudgeIo(FuzzCommand c)
    {
        ref var e = ref c.Entry;
        Outcome broken = FlagsRule(e);
        var opcode = (NvmOpcode)e.Opcode;
        if (opcode is not (NvmOpcode.Flush or NvmOpcode.Read or NvmOpcode.Write or NvmOpcode.Compare or NvmOpcode.WriteZeroes
            or NvmOpcode.DatasetManagement or NvmOpcode.Verify))
        {
            c.Allowed = broken | Outcome.InvalidCommandOpcode;
            return;
        }
        if (opcode == NvmOpcode.Flush)
        {
            if (e.NamespaceId != AllNamespaces && Model.Namespace(e.NamespaceId) is null)
                broken |= Outcome.InvalidNamespaceOrFormat;
            c.Allowed = broken == Outcome.None ? Outcome.Success : broken;
            return;
        }
        var ns = Model.Namespace(e.NamespaceId);
        if (ns is null)
        {
            c.Allowed = broken | Outcome.InvalidNamespaceOrFormat;
            return;
        }
        if (Model.FormatLocked(ns))
            broken |= Outcome.InvalidNamespaceOrFormat;
        if (opcode == NvmOpcode.DatasetManagement)
        {
            JudgeDatasetManagement(c, ns, broken);
            return;
        }

        ulong slba = e.Cdw10 | ((ulong)e.Cdw11 << 32);
        int blocks = (int)(e.Cdw12 & CommandFields.NlbMask) + 1;
        bool inRange = slba <= (ulong)ns.BlockCount && (ulong)blocks <= (ulong)ns.BlockCount - slba;
        if (!inRange)
            broken |= Outcome.LbaOutOfRange;
        var pi = ns.Pi;
        bool pract = pi is not null && (e.Cdw12 & CommandFields.Pract) != 0;
        Outcome dataDependent = Outcome.None;
        switch (opcode)
        {
            case NvmOpcode.Read or NvmOpcode.Write or NvmOpcode.Compare:
            {
                if (opcode == NvmOpcode.Compare && pract)
                    broken |= Outcome.InvalidFieldInCommand;   // Compare: PRACT must be 0
                bool generating = opcode == NvmOpcode.Write && pract;
                PiChecks checks = pi is null ? PiChecks.None : PiRules(pi, e, slba, generating, ref broken);
                bool withMetadata = opcode == NvmOpcode.Compare ? ns.MetadataSize != 0 : ns.HostCarriesMetadata(pract);
                broken |= HostBuffers(c, ns, blocks, withMetadata, deviceWrites: opcode == NvmOpcode.Read);
                if (!generating)
                    dataDependent |= PiErrors(checks);
                if (opcode == NvmOpcode.Compare)
                    dataDependent |= Outcome.CompareFailure;
                break;
            }
            case NvmOpcode.Verify:
                if (pi is not null)
                    dataDependent |= PiErrors(PiRules(pi, e, slba, generating: false, ref broken));
                break;
            case NvmOpcode.WriteZeroes:
                const uint prchk = CommandFields.PrchkGuard | CommandFields.PrchkApplicationTag | CommandFields.PrchkReferenceTag;
                if (pi is not null && (e.Cdw12 & (prchk | CommandFields.StorageTagCheck)) != 0)
                    broken |= Outcome.InvalidFieldInCommand;   // Write Zeroes: PRCHK and STC must be 0 (PI.md §4)
                if (pi is not null && pract && (e.Cdw12 & CommandFields.Deallocate) == 0)
                    PiRules(pi, e, slba, generating: true, ref broken);
                break;
        }
        if (inRange && opcode is NvmOpcode.Write or NvmOpcode.WriteZeroes)
            c.Touches.Add((ns.Id, (long)slba, blocks));
        c.Allowed = broken != Outcome.None ? broken : Outcome.Success | dataDependent;
    }

    /// <summary>
    /// The PI fields of a command (PI.md §4-5): the checks it asks for, cut to what the format
    /// has, and for Type 1 an ILBRT that must equal the LBA when it is used (checked, or generated).
    /// </summary>
    private static PiChecks PiRules(ProtectionFormat pi, in PolledNvme.Queues.SubmissionEntry e, ulong slba, bool generating, ref Outcome broken)
    {
        var checks = PiCommandFields.ChecksFromPrinfo((int)((e.Cdw12 >> CommandFields.PrinfoShift) & 0xF), (e.Cdw12 & CommandFields.StorageTagCheck) != 0);
        if (pi.Type == PiType.Type3 || pi.ReferenceTagBits == 0)
            checks &= ~PiChecks.ReferenceTag;
        if (pi.StorageTagSize == 0)
            checks &= ~PiChecks.StorageTag;
        PiCommandFields.UnpackTags(pi, e.Cdw2, e.Cdw3, e.Cdw14, out _, out ulong referenceTag);
        if (pi.Type == PiType.Type1 && pi.ReferenceTagBits > 0 && (generating || (checks & PiChecks.ReferenceTag) != 0)
            && referenceTag != (slba & pi.ReferenceTagMask))
            broken |= Outcome.InvalidProtectionInformation;
        return checks;
    }

    /// <summary>The End-to-end errors the asked-for checks can produce.</summary>
    private static Outcome PiErrors(PiChecks checks)
        => ((checks & PiChecks.Guard) != 0 ? Outcome.EndToEndGuardCheckError : 0)
            | ((checks & PiChecks.ApplicationTag) != 0 ? Outcome.EndToEndApplicationTagCheckError : 0)
            | ((checks & PiChecks.ReferenceTag) != 0 ? Outcome.EndToEndReferenceTagCheckError : 0)
            | ((checks & PiChecks.StorageTag) != 0 ? Outcome.EndToEndStorageTagCheckError : 0);

    /// <summary>MDTS, the PRPs and (separate metadata) MPTR of a Read, Write or Compare.</summary>
    private unsafe Outcome HostBuffers(FuzzCommand c, NamespaceModel ns, int blocks, bool withMetadata, bool deviceWrites)
    {
        ref var e = ref c.Entry;
        long bytes = ns.HostBytes(blocks, withMetadata);
        // MDTS counts interleaved metadata; separate metadata travels outside it (NVMe Base §5.17.2.1).
        if (bytes > Model.MaxTransferBytes)
            return Outcome.InvalidFieldInCommand;
        var data = deviceWrites ? c.Writes : c.Reads;
        Outcome broken = PrpOracle.Walk(Memory, e.Prp1, e.Prp2, (int)bytes, Model.PageSize, data, c.ContentRanges) & ~Outcome.Success;
        if (withMetadata && !ns.ExtendedLba)
        {
            // MPTR with PRPs: one contiguous, dword-aligned buffer (NVMe Base §4.1.2).
            long metadataBytes = (long)blocks * ns.MetadataSize;
            byte* host = Memory.Translate(e.MetadataPointer, (ulong)metadataBytes);
            if ((e.MetadataPointer & 3) != 0)
                broken |= Outcome.InvalidFieldInCommand;
            else if (host == null)
                broken |= Outcome.DataTransferError;
            else
                data.Add(new HostRange((nint)host, (int)metadataBytes));
        }
        return broken;
    }

    /// <summary>Dataset Management (NVM CS 1.0 §3.2.3): NR+1 ranges read through PRPs; with AD, every range inside the namespace.</summary>
    private void JudgeDatasetManagement(FuzzCommand c, NamespaceModel ns, Outcome broken)
    {
        ref var e = ref c.Entry;
        int ranges = (int)(e.Cdw10 & 0xFF) + 1;
        int bytes = ranges * DsmRangeSize;
        var list = new List<HostRange>();
        Outcome prp = PrpOracle.Walk(Memory, e.Prp1, e.Prp2, bytes, Model.PageSize, list, c.ContentRanges);
        c.ContentRanges.AddRange(list);
        if (prp != Outcome.Success)
            broken |= prp;
        else if ((e.Cdw11 & CommandFields.DsmAttributeDeallocate) != 0)
        {
            Span<byte> raw = new byte[bytes];
            PrpOracle.Gather(list, raw);
            for (int i = 0; i < ranges; i++)
            {
                var range = raw.Slice(i * DsmRangeSize, DsmRangeSize);
                ulong length = BinaryPrimitives.ReadUInt32LittleEndian(range[4..]);
                ulong start = BinaryPrimitives.ReadUInt64LittleEndian(range[8..]);
                if (start > (ulong)ns.BlockCount || length > (ulong)ns.BlockCount - start)
                    broken |= Outcome.LbaOutOfRange;
                else if (length != 0)
                    c.Touches.Add((ns.Id, (long)start, (long)length));
            }
        }
        c.Allowed = broken != Outcome.None ? broken : Outcome.Success;
    }
}
