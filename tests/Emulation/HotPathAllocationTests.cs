using NUnit.Framework;
using PolledNvme.Driver.Spec;
using PolledNvme.Emulation;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Emulation;

/// <summary>
/// The device's per-command path allocates nothing (DESIGN.md hot-path rules): on RAM media
/// (synchronous) and on a file (the asynchronous media path: media commands, buffers and ring
/// entries all come from what was set up with the queues).
/// </summary>
public class HotPathAllocationTests
{
    private string? _dir;

    [TearDown]
    public void TearDown()
    {
        if (_dir is not null)
            Directory.Delete(_dir, recursive: true);
        _dir = null;
    }

    [TestCase(0, 8, false, false)]
    [TestCase(0, 8, true, false)]
    [TestCase(1, 64, true, false)]
    [TestCase(2, 16, true, false)]
    [TestCase(0, 8, false, true)]
    [TestCase(2, 16, true, true)]
    public void ReadsAndWritesWithPiAllocateNothing(int pif, int ms, bool mset, bool file)
    {
        using var host = TestHost.Create(ns =>
        {
            if (file)
            {
                _dir = Directory.CreateTempSubdirectory("pnvme-alloc-").FullName;
                ns.Backend = MediaBackendKind.File;
                ns.FilePath = Path.Combine(_dir, "ns.img");
                ns.DirectIo = false;
            }
            ns.BlockSize = 4096;
            ns.MetadataSize = ms;
            ns.StorageTagSize = pif == 1 ? 16 : 0;
            ns.PiType = 1;
            ns.GuardFormat = pif;
            ns.ExtendedLba = mset;
            ns.CapacityBytes = 1 << 20;
        });
        var q = host.Start(entries: 64);
        if (pif != 0)
            host.EnableExtendedFormats();
        var data = host.Alloc(8 * 4096 + 4096);   // room for 4 extended blocks of up to 4160 bytes
        var list = host.Alloc(4096);
        for (int i = 1; i < 9; i++)
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(list.Span[(8 * (i - 1))..], data.Iova + (ulong)(4096 * i));
        const uint flags = CommandFields.Pract | CommandFields.PrchkGuard | CommandFields.PrchkApplicationTag | CommandFields.PrchkReferenceTag;

        void RunBatch()
        {
            for (int i = 0; i < 32; i++)
            {
                ulong slba = (ulong)(i * 4 % 200);
                var write = TestHost.Rw(NvmOpcode.Write, slba, 4, data.Iova, list.Iova, cdw12Flags: flags);
                write.Cdw14 = (uint)slba;
                var read = write;
                read.Opcode = (byte)NvmOpcode.Read;
                if (host.Execute(q, write).Status != 0 || host.Execute(q, read).Status != 0)
                    Assert.Fail("command failed");
            }
        }

        // Tier-up of the JIT may allocate once in a while; a per-command allocation would show in
        // every batch of 64 commands, so one clean batch out of several proves there is none.
        RunBatch();
        long smallest = long.MaxValue;
        for (int attempt = 0; attempt < 20 && smallest != 0; attempt++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            RunBatch();
            smallest = Math.Min(smallest, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.That(smallest, Is.Zero);
    }
}
