using System.Runtime.CompilerServices;
using PolledNvme.Protection;

namespace PolledNvme.Emulation;

/// <summary>What a write does with the PI of the blocks it moves to the media.</summary>
internal enum WriteAction
{
    /// <summary>Moves the bytes as they are (no PI, or PRACT=0 without checks).</summary>
    Plain,
    /// <summary>PRACT=1: the device generates the PI tuple of every block.</summary>
    Generate,
    /// <summary>PRACT=0 with PRCHK/STC: the host's tuples are checked before anything is stored.</summary>
    Verify,
}

/// <summary>How a command's blocks lie in the host's buffers.</summary>
/// <param name="BlockSize">Block data bytes.</param>
/// <param name="MetadataSize">Metadata bytes per block on the media.</param>
/// <param name="HostMetadata">The host buffers carry the metadata (not so for PRACT=1 with MS equal to the PI size).</param>
/// <param name="Interleaved">The metadata follows each block's data in the data buffer (extended LBA); otherwise it is MPTR's.</param>
internal readonly record struct HostLayout(int BlockSize, int MetadataSize, bool HostMetadata, bool Interleaved)
{
    /// <summary>Bytes of one block in the host's data buffer.</summary>
    public int HostBlockBytes => Interleaved ? BlockSize + MetadataSize : BlockSize;
}

/// <summary>
/// Moves a command's blocks between the host's buffers (the PRP segments, resolved through
/// the DMA address space, and MPTR) and the media layout (all data, then all metadata) in one
/// pass, generating or checking PI on the way and de-interleaving extended LBAs. Host data
/// without metadata goes through <see cref="ProtectionContext.GenerateCopy"/> and
/// <see cref="ProtectionContext.VerifyCopy"/> straight over the host's segments, and so do
/// checked reads into separate data and metadata buffers (the metadata then follows to MPTR);
/// every other layout is moved in batches smaller than the L1 cache, each checked or given its
/// PI while it is still there (the PI engine's own copy operations work that way). The only staging is one
/// block, for a block that straddles two host pages. Device thread only.
/// </summary>
internal sealed unsafe class HostBlockTransfer
{
    /// <summary>Bytes moved before a batch is checked or given PI: under a 32 KiB L1 data cache.</summary>
    private const int BatchBytes = 24 * 1024;

    private readonly byte[] _stage = GC.AllocateUninitializedArray<byte>(4096 + 64, pinned: true);

    /// <summary>
    /// Host → media: the next blocks of <paramref name="host"/> (and <paramref name="hostMetadata"/>)
    /// into <paramref name="data"/>/<paramref name="metadata"/>. With <see cref="WriteAction.Verify"/>
    /// the stored bytes are checked, and false (with the first failure) means the media must not be
    /// written.
    /// </summary>
    public bool ToMedia(PrpTransfer host, byte* hostMetadata, in HostLayout layout, in ProtectionContext context, WriteAction action,
        Span<byte> data, Span<byte> metadata, int blocks, out PiError error)
    {
        error = default;
        int bs = layout.BlockSize, ms = layout.MetadataSize;
        host.Rewind();
        if (!layout.HostMetadata)
        {
            if (action == WriteAction.Generate)
                GenerateFromDataOnly(host, context, data, metadata, blocks);
            else
                host.Read(data[..(blocks * bs)]);   // no metadata at all
            return true;
        }
        if (action == WriteAction.Plain && !layout.Interleaved)
        {
            host.Read(data[..(blocks * bs)]);
            new ReadOnlySpan<byte>(hostMetadata, blocks * ms).CopyTo(metadata);
            return true;
        }
        int batch = BatchBlocks(layout);
        for (int first = 0; first < blocks; first += batch)
        {
            int n = Math.Min(batch, blocks - first);
            Span<byte> batchData = data.Slice(first * bs, n * bs), batchMetadata = metadata.Slice(first * ms, n * ms);
            if (layout.Interleaved)
            {
                for (int b = 0; b < n; b++)
                {
                    host.Read(batchData.Slice(b * bs, bs));
                    host.Read(batchMetadata.Slice(b * ms, ms));
                }
            }
            else
            {
                host.Read(batchData);
                new ReadOnlySpan<byte>(hostMetadata + first * ms, n * ms).CopyTo(batchMetadata);
            }
            if (action == WriteAction.Generate)
                At(context, first).Generate(batchData, batchMetadata, n);   // PRACT=1 with MS > PI size: the host's metadata stays, the tuple is replaced
            else if (action == WriteAction.Verify && !At(context, first).Verify(batchData, batchMetadata, n, out error))
                return Failed(ref error, first);
        }
        return true;
    }

    /// <summary>
    /// Media → host: <paramref name="data"/>/<paramref name="metadata"/> into the host buffers,
    /// checked per the context's checks on the way (PRACT=1 with MS equal to the PI size strips the
    /// PI: it is simply not moved). False with the first failure; the host buffer is then undefined.
    /// </summary>
    public bool FromMedia(PrpTransfer host, byte* hostMetadata, in HostLayout layout, in ProtectionContext context,
        ReadOnlySpan<byte> data, ReadOnlySpan<byte> metadata, int blocks, out PiError error)
    {
        error = default;
        int bs = layout.BlockSize, ms = layout.MetadataSize;
        bool checking = context.Checks != PiChecks.None;
        host.Rewind();
        if (!layout.HostMetadata)
            return checking ? VerifyCopyToHost(host, null, context, data, metadata, blocks, out error) : WriteAll(host, data[..(blocks * bs)]);
        if (!layout.Interleaved)
        {
            if (checking)
                return VerifyCopyToHost(host, hostMetadata, context, data, metadata, blocks, out error);
            host.Write(data[..(blocks * bs)]);
            metadata[..(blocks * ms)].CopyTo(new Span<byte>(hostMetadata, blocks * ms));
            return true;
        }
        int batch = BatchBlocks(layout);
        for (int first = 0; first < blocks; first += batch)
        {
            int n = Math.Min(batch, blocks - first);
            ReadOnlySpan<byte> batchData = data.Slice(first * bs, n * bs), batchMetadata = metadata.Slice(first * ms, n * ms);
            if (checking && !At(context, first).Verify(batchData, batchMetadata, n, out error))
                return Failed(ref error, first);
            if (layout.Interleaved)
            {
                for (int b = 0; b < n; b++)
                {
                    host.Write(batchData.Slice(b * bs, bs));
                    host.Write(batchMetadata.Slice(b * ms, ms));
                }
            }
            else
            {
                host.Write(batchData);
                batchMetadata.CopyTo(new Span<byte>(hostMetadata + first * ms, n * ms));
            }
        }
        return true;
    }

    /// <summary>
    /// Compare (NVM CS 1.0 §3.2.2): the stored blocks, checked per the context, against the host's
    /// data and metadata, the PI tuple excepted (PI.md §4), in one pass over both. Returns Success,
    /// Compare Failure, or a PI failure in <paramref name="error"/> (then <paramref name="piFailed"/>).
    /// </summary>
    public bool Compare(PrpTransfer host, byte* hostMetadata, in HostLayout layout, in ProtectionContext context, ProtectionFormat? pi,
        ReadOnlySpan<byte> data, ReadOnlySpan<byte> metadata, int blocks, out bool piFailed, out PiError error)
    {
        error = default;
        piFailed = false;
        int bs = layout.BlockSize, ms = layout.MetadataSize;
        int tupleStart = pi?.TupleOffset ?? ms, tupleEnd = pi is null ? ms : pi.TupleOffset + pi.TupleSize;
        bool checking = context.Checks != PiChecks.None, equal = true;
        host.Rewind();
        int batch = BatchBlocks(layout);
        for (int first = 0; first < blocks && equal; first += batch)
        {
            int n = Math.Min(batch, blocks - first);
            ReadOnlySpan<byte> batchData = data.Slice(first * bs, n * bs), batchMetadata = metadata.Slice(first * ms, n * ms);
            if (checking && !At(context, first).Verify(batchData, batchMetadata, n, out error))
            {
                piFailed = true;
                return Failed(ref error, first);
            }
            for (int b = 0; b < n && equal; b++)
            {
                equal = host.Matches(batchData.Slice(b * bs, bs));
                if (ms == 0)
                    continue;
                ReadOnlySpan<byte> stored = batchMetadata.Slice(b * ms, ms);
                ReadOnlySpan<byte> given;
                if (layout.Interleaved)
                {
                    host.Read(_stage.AsSpan(0, ms));
                    given = _stage.AsSpan(0, ms);
                }
                else
                    given = new ReadOnlySpan<byte>(hostMetadata + (first + b) * ms, ms);
                equal &= stored[..tupleStart].SequenceEqual(given[..tupleStart]) && stored[tupleEnd..].SequenceEqual(given[tupleEnd..]);
            }
        }
        return equal;
    }

    /// <summary>PRACT=1, host data only: GenerateCopy over each run of whole blocks inside one host segment.</summary>
    private void GenerateFromDataOnly(PrpTransfer host, in ProtectionContext context, Span<byte> data, Span<byte> metadata, int blocks)
    {
        int bs = context.Format.BlockSize, ms = context.Format.MetadataSize;
        for (int first = 0; first < blocks;)
        {
            int run = Math.Min(blocks - first, host.ContiguousBytes / bs);
            Span<byte> source;
            if (run == 0)
            {
                run = 1;   // a block across two host pages: staged
                source = _stage.AsSpan(0, bs);
                host.Read(source);
            }
            else
                host.TryTake(run * bs, out source);
            At(context, first).GenerateCopy(source, data.Slice(first * bs, run * bs), metadata.Slice(first * ms, run * ms), run);
            first += run;
        }
    }

    /// <summary>
    /// Checked reads into separate host buffers: VerifyCopy over each run of whole blocks inside
    /// one host segment (the data read once, checked on its way to the host), then the run's
    /// metadata to MPTR (<paramref name="hostMetadata"/>; null for PRACT=1 with MS equal to the
    /// PI size, where the host gets data only).
    /// </summary>
    private bool VerifyCopyToHost(PrpTransfer host, byte* hostMetadata, in ProtectionContext context, ReadOnlySpan<byte> data,
        ReadOnlySpan<byte> metadata, int blocks, out PiError error)
    {
        error = default;
        int bs = context.Format.BlockSize, ms = context.Format.MetadataSize;
        for (int first = 0; first < blocks;)
        {
            int run = Math.Min(blocks - first, host.ContiguousBytes / bs);
            bool staged = run == 0;
            Span<byte> destination;
            if (staged)
            {
                run = 1;   // a block across two host pages: staged
                destination = _stage.AsSpan(0, bs);
            }
            else
                host.TryTake(run * bs, out destination);
            ReadOnlySpan<byte> runMetadata = metadata.Slice(first * ms, run * ms);
            if (!At(context, first).VerifyCopy(data.Slice(first * bs, run * bs), runMetadata, destination, run, out error))
                return Failed(ref error, first);
            if (staged)
                host.Write(destination);
            if (hostMetadata != null)
                runMetadata.CopyTo(new Span<byte>(hostMetadata + first * ms, run * ms));
            first += run;
        }
        return true;
    }

    private static bool WriteAll(PrpTransfer host, ReadOnlySpan<byte> data)
    {
        host.Write(data);
        return true;
    }

    /// <summary>Blocks per batch: as many as fit in <see cref="BatchBytes"/>, at least one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int BatchBlocks(in HostLayout layout) => Math.Max(1, BatchBytes / (layout.BlockSize + layout.MetadataSize));

    /// <summary>The context for the part of a command that starts <paramref name="blocksDone"/> blocks in (reference tags advance per block, Type 1/2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ProtectionContext At(in ProtectionContext context, int blocksDone)
        => blocksDone == 0 || context.Format is not { } format || format.Type == PiType.Type3
            ? context
            : context.WithInitialReferenceTag(context.ExpectedReferenceTag(blocksDone));

    /// <summary>Makes a batch's failure a command's: the block index counts from the command's first block.</summary>
    private static bool Failed(ref PiError error, int first)
    {
        error = new PiError(error.BlockIndex + first, error.Kind, error.Expected, error.Actual);
        return false;
    }
}
