namespace PolledNvme.Uring;

/// <summary>
/// fallocate(2) mode flags (include/uapi/linux/falloc.h), for
/// <see cref="UringSqeExtensions.PrepareFallocate"/> and a plain fallocate call alike.
/// </summary>
public static class FallocateMode
{
    /// <summary>FALLOC_FL_KEEP_SIZE: the file size does not change.</summary>
    public const int KeepSize = 0x01;

    /// <summary>FALLOC_FL_PUNCH_HOLE: frees the range, which then reads as zeros (needs <see cref="KeepSize"/>).</summary>
    public const int PunchHole = 0x02;
}
