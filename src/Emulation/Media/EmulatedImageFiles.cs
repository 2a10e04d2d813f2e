namespace PolledNvme.Emulation.Media;

/// <summary>
/// The files an <c>emu:</c> namespace keeps for an image path: the image itself (QEMU's nvme-ns
/// layout, data then metadata) and the format record beside it. Tools that must never overwrite
/// them (output paths) or must clean them up (temporary images) name them through here.
/// </summary>
public static class EmulatedImageFiles
{
    /// <summary>Appended to the image path to name its format record (<c>PATH.pnvmefmt</c>).</summary>
    public const string FormatRecordSuffix = ".pnvmefmt";

    /// <summary>The format record of <paramref name="imagePath"/>.</summary>
    public static string FormatRecordOf(string imagePath) => imagePath + FormatRecordSuffix;
}
