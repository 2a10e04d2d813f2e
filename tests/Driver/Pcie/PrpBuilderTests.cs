using System.Buffers.Binary;
using NUnit.Framework;
using PolledNvme.Queues;
using PolledNvme.Tests.Driver.Memory;

namespace PolledNvme.Tests.Driver.Pcie;

/// <summary>PRP1/PRP2/list construction (NVMe Base 2.0 §4.1.1.1) checked by walking what was built.</summary>
public class PrpBuilderTests
{
    private FakeMapper _mapper = null!;
    private DmaAllocator _memory = null!;

    [SetUp]
    public void SetUp()
    {
        _mapper = new FakeMapper();
        _memory = new DmaAllocator(_mapper, new DmaAllocatorOptions { AllowNonHugepageFallback = true });
    }

    [TearDown]
    public void TearDown() => _memory.Dispose();

    /// <summary>Follows PRP1/PRP2/lists like a controller and returns the pages' start addresses and the bytes covered.</summary>
    private List<(ulong Iova, int Length)> Walk(in SubmissionEntry cmd, int length, int pageSize)
    {
        var segments = new List<(ulong, int)>();
        int first = (int)Math.Min(length, pageSize - (long)(cmd.Prp1 % (ulong)pageSize));
        segments.Add((cmd.Prp1, first));
        int left = length - first;
        if (left == 0)
        {
            Assert.That(cmd.Prp2, Is.Zero);
            return segments;
        }
        if (left <= pageSize)
        {
            segments.Add((cmd.Prp2, left));
            return segments;
        }
        ulong list = cmd.Prp2;
        int entriesPerPage = pageSize / 8;
        int index = 0;
        while (left > 0)
        {
            Span<byte> page = _mapper.Translate(list, pageSize);
            ulong entry = BinaryPrimitives.ReadUInt64LittleEndian(page[(index * 8)..]);
            int pagesLeft = (left + pageSize - 1) / pageSize;
            if (index == entriesPerPage - 1 && pagesLeft > 1)
            {
                list = entry;       // chain to the next list page
                index = 0;
                continue;
            }
            Assert.That(entry % (ulong)pageSize, Is.Zero, "list entries are page aligned");
            int n = Math.Min(left, pageSize);
            segments.Add((entry, n));
            left -= n;
            index++;
        }
        return segments;
    }

    private static IEnumerable<TestCaseData> Shapes()
    {
        foreach (int offset in new[] { 0, 4, 512, 4092 })
            foreach (int length in new[] { 4, 512, 4096 - 4, 4096, 8192, 12288, 64 * 1024, 512 * 1024, 2 * 1024 * 1024 + 8192, 4 * 1024 * 1024 })
                yield return new TestCaseData(offset, length).SetName($"Prp_offset{offset}_length{length}");
    }

    [TestCaseSource(nameof(Shapes))]
    public void EntriesCoverExactlyTheBufferInOrder(int offset, int length)
    {
        const int pageSize = 4096;
        int maxTransfer = 4 * 1024 * 1024;
        using var prp = new PrpBuilder(_memory, pageSize, maxTransfer, slots: 3);
        using DmaBuffer buffer = _memory.Allocate(offset + length);
        var cmd = new SubmissionEntry();
        prp.Build(slot: 2, buffer, offset, length, ref cmd);
        List<(ulong Iova, int Length)> segments = Walk(cmd, length, pageSize);
        ulong expected = buffer.IovaAt(offset);
        foreach ((ulong iova, int n) in segments)
        {
            Assert.That(iova, Is.EqualTo(expected));
            expected += (ulong)n;
        }
        Assert.That(segments.Sum(s => s.Length), Is.EqualTo(length));
    }

    [Test]
    public void ListsChainWhenOnePageOfEntriesIsNotEnough()
    {
        using var prp = new PrpBuilder(_memory, 4096, 4 * 1024 * 1024, slots: 1);
        Assert.That(prp.ListPagesPerSlot, Is.EqualTo(3), "1025 pages -> 1024 entries -> 511 + 511 + 2");
        using DmaBuffer buffer = _memory.Allocate(4 * 1024 * 1024);
        var cmd = new SubmissionEntry();
        prp.Build(0, buffer, 0, buffer.Length, ref cmd);
        Span<byte> firstList = _mapper.Translate(cmd.Prp2, 4096);
        ulong chain = BinaryPrimitives.ReadUInt64LittleEndian(firstList[(511 * 8)..]);
        Assert.That(chain, Is.EqualTo(cmd.Prp2 + 4096), "the last entry of a full list page points to the next list page");
    }

    [Test]
    public void BeyondMaxTransferIsRejectedNotTruncated()
    {
        using var prp = new PrpBuilder(_memory, 4096, 128 * 1024, slots: 1);
        using DmaBuffer buffer = _memory.Allocate(256 * 1024);
        var cmd = new SubmissionEntry();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => prp.Build(0, buffer, 0, 128 * 1024 + 512, ref cmd));
        Assert.That(e!.Message, Does.Contain("131072").And.Contain("MDTS"));
    }

    [Test]
    public void RangesOutsideTheBufferAndUnalignedAddressesAreRejected()
    {
        using var prp = new PrpBuilder(_memory, 4096, 128 * 1024, slots: 1);
        using DmaBuffer buffer = _memory.Allocate(8192);
        var cmd = new SubmissionEntry();
        Assert.Throws<ArgumentOutOfRangeException>(() => prp.Build(0, buffer, 4096, 8192, ref cmd));
        var e = Assert.Throws<ArgumentException>(() => prp.Build(0, buffer, 2, 512, ref cmd));
        Assert.That(e!.Message, Does.Contain("dword aligned"));
    }
}
