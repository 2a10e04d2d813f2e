using PolledNvme.Queues;

namespace PolledNvme.Tests.Driver.Memory;

/// <summary>
/// An IOMMU stand-in for driver tests: IOVAs are host addresses shifted by a constant, and
/// only mapped ranges translate back.
/// </summary>
internal sealed class FakeMapper : IDmaMapper
{
    public const ulong Shift = 0x7000_0000_0000;
    private readonly List<(ulong Iova, nint Host, nuint Length)> _maps = new();

    public int MapCalls { get; private set; }

    public ulong Map(nint address, nuint length)
    {
        MapCalls++;
        ulong iova = (ulong)address + Shift;
        _maps.Add((iova, address, length));
        return iova;
    }

    public void Unmap(ulong iova, nuint length) => _maps.RemoveAll(m => m.Iova == iova);

    public unsafe Span<byte> Translate(ulong iova, int length)
    {
        foreach (var m in _maps)
            if (iova >= m.Iova && iova + (ulong)length <= m.Iova + m.Length)
                return new Span<byte>((void*)(m.Host + (nint)(iova - m.Iova)), length);
        throw new InvalidOperationException($"IOVA 0x{iova:X}+{length} is not mapped.");
    }
}
