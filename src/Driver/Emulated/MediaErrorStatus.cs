using PolledNvme.Driver.Emulated.Media;
using PolledNvme.Driver.Spec;
using PolledNvme.Queues.Uring;

namespace PolledNvme.Driver.Emulated;

/// <summary>
/// The status a command completes with when its backing file failed, chosen per operation and
/// errno as a drive would report its media (and as Linux's nvmet does for its file backend):
/// <list type="bullet">
/// <item>ENOSPC or EDQUOT while writing, zeroing or flushing: Capacity Exceeded (0h/81h, DNR),
/// a thin-provisioned namespace out of space, which Linux hosts turn back into ENOSPC;</item>
/// <item>EIO while writing, zeroing or flushing: Write Fault (2h/80h);</item>
/// <item>EIO while reading: Unrecovered Read Error (2h/81h);</item>
/// <item>anything else, and every failure of Format NVM: Internal Error (0h/06h).</item>
/// </list>
/// The status cannot carry the errno, the file or the offset; the exception's message does, and
/// the device hands it to the host with the failed command.
/// </summary>
internal static class MediaErrorStatus
{
    public static NvmeStatus Of(Exception failure, bool admin)
    {
        if (admin || failure is not MediaIoException media)
            return NvmeStatus.InternalError;
        bool writing = media.Operation is MediaOperation.Write or MediaOperation.Zero or MediaOperation.Flush;
        return (media.Errno, writing) switch
        {
            (Errno.ENOSPC or Errno.EDQUOT, true) => NvmeStatus.CapacityExceeded,
            (Errno.EIO, true) => NvmeStatus.WriteFault,
            (Errno.EIO, false) when media.Operation == MediaOperation.Read => NvmeStatus.UnrecoveredReadError,
            _ => NvmeStatus.InternalError,
        };
    }
}
