using PolledNvme.Queues.Uring;

namespace PolledNvme.Driver.Emulated.Media;

/// <summary>The steps of <see cref="MediaFormatCommit"/>, in order (the test seam fails any of them).</summary>
internal enum FormatStep
{
    /// <summary>Create the aside image and lock it exclusively.</summary>
    CreateImage,
    /// <summary>Size it and write the metadata of deallocated blocks.</summary>
    LayOutImage,
    /// <summary>fdatasync the aside image.</summary>
    SyncImage,
    /// <summary>Write the pending record naming the aside image's inode (atomically, synced).</summary>
    WritePendingRecord,
    /// <summary>Rename the aside image over the image: the commit point.</summary>
    CommitImage,
    /// <summary>Rename the pending record over the record.</summary>
    CommitRecord,
    /// <summary>Undo after a failure before the commit: remove the pending record, then the aside image.</summary>
    RollBack,
}

/// <summary>
/// Format NVM on a file, atomically. The image must stay exactly QEMU's layout, so the format
/// lives in a second file (the record), and two files cannot be renamed together. The protocol:
/// <list type="number">
/// <item>lay out the new image aside (<c>PATH.pnvmefmt.new-image</c>), locked exclusively before
/// anyone can see it, with the deallocated-block metadata written, and fdatasync it;</item>
/// <item>write the pending record <c>PATH.pnvmefmt.new</c> naming that image's inode and length
/// (temporary file, fsync, rename, directory fsync);</item>
/// <item>rename the new image over <c>PATH</c> and fsync the directory: the commit point;</item>
/// <item>rename the pending record over <c>PATH.pnvmefmt</c> and fsync the directory.</item>
/// </list>
/// Every open resolves what a crash left (<see cref="MediaFormatSidecar.Resolve"/>): a pending
/// record whose inode is the image's means step 3 happened, so it becomes the record (roll
/// forward); any other pending record is removed with the aside image (roll back), leaving the
/// old image and its record untouched. The pending record is removed before the aside image
/// so it never outlives the inode it names (inode numbers are reused). The inode is compared,
/// not the device number, which may change across a reboot. Until step 3 the old image, its
/// record and the device's descriptors are untouched, so a failure leaves the old format and
/// its data valid; after step 3 the new format is in effect and a failing step 4 is finished by
/// the next open. The cost: the new image's metadata needs free space while the old image exists.
/// </summary>
internal static class MediaFormatCommit
{
    private const int FillChunk = 64 * 1024;

    /// <summary>
    /// Lays out <paramref name="imagePath"/> anew for <paramref name="format"/> (metadata region
    /// filled with the repeated <paramref name="metadataFill"/>, unless it is all zeros) and
    /// commits it. Returns the new image's I/O, locked exclusively and named by the path.
    /// On a failure before the commit, everything is rolled back and the exception is rethrown.
    /// </summary>
    public static MediaFileIo Run(string imagePath, MediaFormatRecord format, ReadOnlySpan<byte> metadataFill,
        bool preferDirect, Func<UringRing> createRing, Func<MediaOperation, long, int>? faults, Action<FormatStep>? stepHook)
    {
        string asideImage = MediaFormatSidecar.PendingImageOf(imagePath);
        string pendingRecord = MediaFormatSidecar.PendingRecordOf(imagePath);
        MediaFileIo? aside = null;
        try
        {
            stepHook?.Invoke(FormatStep.CreateImage);
            aside = MediaFileIo.Open(asideImage, preferDirect, createRing);
            aside.InjectedFault = faults;
            stepHook?.Invoke(FormatStep.LayOutImage);
            aside.Resize(0);   // a leftover of an earlier attempt starts over
            aside.Resize(format.MediaLength);
            FillMetadata(aside, format, metadataFill);
            stepHook?.Invoke(FormatStep.SyncImage);
            aside.Sync();
            stepHook?.Invoke(FormatStep.WritePendingRecord);
            MediaFormatSidecar.Save(pendingRecord, format, aside.Inode);
            stepHook?.Invoke(FormatStep.CommitImage);
            MediaFiles.Rename(asideImage, imagePath);
        }
        catch
        {
            RollBack(asideImage, pendingRecord, aside, stepHook);
            throw;
        }
        // Committed: from here the new format is the image's, whatever fails.
        aside.Path = imagePath;
        try
        {
            MediaFiles.SyncDirectory(imagePath);
            stepHook?.Invoke(FormatStep.CommitRecord);
            MediaFiles.Rename(pendingRecord, MediaFormatSidecar.PathOf(imagePath));
            MediaFiles.SyncDirectory(imagePath);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            // The pending record names the committed image: the next open renames it (roll forward).
        }
        return aside;
    }

    /// <summary>Removes the pending record, then the aside image; a failure here leaves what the next open removes.</summary>
    private static void RollBack(string asideImage, string pendingRecord, MediaFileIo? aside, Action<FormatStep>? stepHook)
    {
        try
        {
            stepHook?.Invoke(FormatStep.RollBack);
            MediaFiles.Unlink(pendingRecord);
            MediaFiles.Unlink(pendingRecord + ".tmp");
            MediaFiles.SyncDirectory(pendingRecord);
            aside?.Dispose();
            aside = null;
            MediaFiles.Unlink(asideImage);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            // Like a crash at this point: the next open of the image rolls back what is left.
        }
        finally
        {
            aside?.Dispose();
        }
    }

    /// <summary>Writes the metadata of every block as deallocated (the PI all FFh); all-zero metadata stays a hole.</summary>
    private static void FillMetadata(MediaFileIo io, MediaFormatRecord format, ReadOnlySpan<byte> pattern)
    {
        long length = format.BlockCount * format.MetadataSize;
        if (length == 0 || !pattern.ContainsAnyExcept((byte)0))
            return;
        byte[] chunk = new byte[FillChunk / pattern.Length * pattern.Length];
        MediaLayout.Repeat(pattern, chunk);
        long offset = format.MetadataOffset;
        while (length > 0)
        {
            int n = (int)Math.Min(length, chunk.Length);
            io.TransferBuffered(UringOpcode.Write, offset, chunk.AsSpan(0, n), MediaOperation.Write);
            offset += n;
            length -= n;
        }
    }
}
