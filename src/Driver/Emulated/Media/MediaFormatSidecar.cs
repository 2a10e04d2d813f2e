namespace PolledNvme.Driver.Emulated.Media;

/// <summary>
/// The files beside an image <c>PATH</c>: its format record <c>PATH.pnvmefmt</c>, and while a
/// format runs (or after one was interrupted) the new image laid out aside,
/// <c>PATH.pnvmefmt.new-image</c>, and its pending record <c>PATH.pnvmefmt.new</c>.
/// <see cref="Resolve"/> finishes or undoes an interrupted format (see <see cref="MediaFormatCommit"/>).
/// </summary>
internal static class MediaFormatSidecar
{
    /// <summary>The record path of an image.</summary>
    public static string PathOf(string imagePath) => imagePath + MediaFormatRecord.SidecarSuffix;

    /// <summary>The pending record of a format in progress.</summary>
    public static string PendingRecordOf(string imagePath) => PathOf(imagePath) + ".new";

    /// <summary>The new image of a format in progress, laid out aside.</summary>
    public static string PendingImageOf(string imagePath) => PathOf(imagePath) + ".new-image";

    /// <summary>Loads a record file; false when it is missing or holds no record. Throws <see cref="MediaFormatRecordDamagedException"/> when damaged.</summary>
    public static bool TryLoad(string recordPath, out MediaFormatRecord record, out ulong imageInode)
    {
        Span<byte> bytes = stackalloc byte[MediaFormatRecord.Size];
        int n = MediaFiles.ReadSmall(recordPath, bytes);
        record = default;
        imageInode = 0;
        return n >= 0 && MediaFormatRecord.TryRead(bytes[..n], recordPath, out record, out imageInode);
    }

    /// <summary>Writes <paramref name="path"/> (a record or a pending record) atomically and durably.</summary>
    public static void Save(string path, MediaFormatRecord record, ulong imageInode)
    {
        Span<byte> bytes = stackalloc byte[MediaFormatRecord.Size];
        record.WriteTo(bytes, imageInode);
        MediaFiles.WriteAtomically(path, bytes);
    }

    /// <summary>
    /// The record that describes the image (inode <paramref name="imageInode"/>,
    /// <paramref name="imageLength"/> bytes), after an interrupted format: a pending record that
    /// names this very image means the image rename (the commit) happened, so it is the record
    /// (roll forward); any other pending record belongs to an uncommitted format (roll back).
    /// With <paramref name="repair"/> (the caller holds the image's exclusive lock) the files
    /// are made to match: the pending record renamed over the record, or removed with the aside
    /// image and temporary files. Without it (a read-only user), nothing is changed.
    /// Returns false when the image has no record.
    /// </summary>
    public static bool Resolve(string imagePath, ulong imageInode, long imageLength, bool repair, out MediaFormatRecord record)
    {
        string recordPath = PathOf(imagePath);
        string pendingPath = PendingRecordOf(imagePath);
        if (TryLoadPending(pendingPath, recordPath, out MediaFormatRecord pending, out ulong pendingInode))
        {
            if (pendingInode == imageInode && pending.MediaLength == imageLength)
            {
                if (repair)
                {
                    MediaFiles.Rename(pendingPath, recordPath);
                    MediaFiles.SyncDirectory(recordPath);
                }
                else
                {
                    record = pending;
                    return true;
                }
            }
            else if (repair)
            {
                MediaFiles.Unlink(pendingPath);     // the record first: it must never outlive the image it names
                MediaFiles.SyncDirectory(pendingPath);
            }
        }
        if (repair)
        {
            MediaFiles.Unlink(PendingImageOf(imagePath));
            MediaFiles.Unlink(pendingPath + ".tmp");
            MediaFiles.Unlink(recordPath + ".tmp");
        }
        return TryLoad(recordPath, out record, out _);
    }

    private static bool TryLoadPending(string pendingPath, string recordPath, out MediaFormatRecord pending, out ulong inode)
    {
        try
        {
            return TryLoad(pendingPath, out pending, out inode);
        }
        catch (MediaFormatRecordDamagedException e)
        {
            // Written atomically and synced before the commit, so damage is not a crash: the disk
            // corrupted it, and whether the format committed is unknown.
            throw new MediaFormatRecordDamagedException(
                $"{e.Message} It belongs to a format that was interrupted: delete '{pendingPath}' if the image still holds its previous " +
                $"format (recorded in '{recordPath}'), or add format=1 to re-lay the image (erases its contents).");
        }
    }
}
