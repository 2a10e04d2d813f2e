using PolledNvme.Protection;

namespace PolledNvme.Tests.Driver;

/// <summary>One emulated namespace format of the end-to-end matrix.</summary>
public sealed record NamespaceFormat(PiGuardFormat Guard, PiType Type, PiLocation Location, bool Extended, int MetadataSize, int BlockSize, int StorageTagSize)
{
    public int PiSize => Guard == PiGuardFormat.Guard16 ? 8 : 16;

    public string Address(string size = "1M")
        => $"mem:lbads={BlockSize},ms={MetadataSize},mset={(Extended ? 1 : 0)},pi={(int)Type},pil={(Location == PiLocation.First ? 1 : 0)},pif={(int)Guard},sts={StorageTagSize},size={size}";

    public override string ToString()
        => $"{Guard}_{Type}_{Location}_{(Extended ? "ext" : "sep")}_ms{MetadataSize}_bs{BlockSize}_sts{StorageTagSize}";

    /// <summary>
    /// Every supported combination: guard 16b/32b/64b x type 1-3 x PI first/last x extended/
    /// separate x MS 8/16/64 x 512/4096 (32b and 64b need 4096 and MS >= 16) x STS zero and non-zero
    /// (32b has no STS 0: its range starts at 16, so it uses 16 and 40).
    /// </summary>
    public static IEnumerable<NamespaceFormat> All()
    {
        foreach (PiGuardFormat guard in new[] { PiGuardFormat.Guard16, PiGuardFormat.Guard32, PiGuardFormat.Guard64 })
            foreach (PiType type in new[] { PiType.Type1, PiType.Type2, PiType.Type3 })
                foreach (PiLocation location in new[] { PiLocation.Last, PiLocation.First })
                    foreach (bool extended in new[] { true, false })
                        foreach (int ms in new[] { 8, 16, 64 })
                            foreach (int bs in new[] { 512, 4096 })
                                foreach (int sts in StorageTagSizes(guard))
                                {
                                    int piSize = guard == PiGuardFormat.Guard16 ? 8 : 16;
                                    if (ms < piSize || (guard != PiGuardFormat.Guard16 && bs < 4096))
                                        continue;
                                    yield return new NamespaceFormat(guard, type, location, extended, ms, bs, sts);
                                }
    }

    private static int[] StorageTagSizes(PiGuardFormat guard) => guard switch
    {
        PiGuardFormat.Guard16 => [0, 8],
        PiGuardFormat.Guard32 => [16, 40],
        _ => [0, 18],
    };
}
