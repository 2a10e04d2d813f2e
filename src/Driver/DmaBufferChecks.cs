using System.Runtime.CompilerServices;
using PolledNvme.Queues;

namespace PolledNvme.Driver;

/// <summary>
/// The checks every command makes on a caller's DMA buffer before anything reaches a ring: the
/// buffer is alive and was allocated from the memory of the controller it is submitted to (a
/// reference compare against that controller's allocator), and a lease keeps its memory the
/// command's until the command completes. One place for the I/O queues, the admin queue and
/// host-side PI, so the messages are the same everywhere.
/// </summary>
internal static class DmaBufferChecks
{
    /// <summary>
    /// Takes a lease on <paramref name="buffer"/> for a command on the controller whose memory
    /// is <paramref name="memory"/>; release it with <see cref="DmaBuffer.ReleaseLease"/> once
    /// the device is done. Throws naming <paramref name="paramName"/> otherwise.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Lease(DmaBuffer buffer, DmaAllocator memory, string paramName)
    {
        if (buffer.Allocator != memory || !buffer.TryAcquireLease())
            ThrowUnusable(buffer, memory, paramName);
    }

    /// <summary>
    /// The checks of <see cref="Lease"/> without taking the lease: for a Try form that found the
    /// queue full, so that misuse still throws rather than hide behind "try again".
    /// </summary>
    public static void RequireUsable(DmaBuffer buffer, DmaAllocator memory, string paramName)
    {
        if (buffer.Allocator != memory || buffer.IsDisposed)
            ThrowUnusable(buffer, memory, paramName);
    }

    /// <summary>Throws naming <paramref name="paramName"/> when <paramref name="buffer"/> is disposed (host-side use: no DMA, no lease).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void RequireAlive(DmaBuffer buffer, string paramName)
    {
        if (buffer.IsDisposed)
            throw Disposed(paramName);
    }

    /// <summary>
    /// Throws naming <paramref name="paramName"/> unless <paramref name="length"/> bytes from the
    /// start of <paramref name="buffer"/> lie inside it (raw and admin commands give a length).
    /// </summary>
    public static void CheckLength(DmaBuffer buffer, int length, string paramName)
    {
        if (length <= 0 || length > buffer.Length)
            throw new ArgumentOutOfRangeException(paramName,
                $"{paramName} = {length}: a command can move 1..{buffer.Length} bytes of this {buffer.Length}-byte DMA buffer (0 means all of it).");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowUnusable(DmaBuffer buffer, DmaAllocator memory, string paramName)
    {
        if (buffer.Allocator == memory)
            throw Disposed(paramName);
        string mine = memory.OwnerName is { } name ? $"this controller's ({name})" : "this controller's";
        string origin = buffer.Allocator is null ? "memory no controller was given"
            : buffer.Allocator.OwnerName is { } other ? $"the memory of another controller ({other})"
            : "another allocator's memory";
        throw new ArgumentException(
            $"The DMA buffer passed as {paramName} comes from {origin}, not from {mine} Memory. A controller reaches only memory mapped for it: "
            + $"at IOVA 0x{buffer.Iova:X} it would read or write whatever this controller has there. Allocate {paramName} from this controller's Memory.",
            paramName);
    }

    private static ObjectDisposedException Disposed(string paramName) => new(paramName,
        $"The DMA buffer passed as {paramName} was disposed: its memory may already belong to another buffer. "
        + "Keep a buffer alive until its commands complete, and allocate a new one after Dispose.");

    /// <summary>
    /// True when <paramref name="data"/> holds <paramref name="dataBytes"/> and
    /// <paramref name="metadata"/> is given exactly when <paramref name="metadataBytes"/> is not
    /// 0 and holds them (the namespace's layout, as Namespace.DataBytes/MetadataBytes say).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool FitLayout(DmaBuffer data, DmaBuffer? metadata, long dataBytes, long metadataBytes)
        => data.Length >= dataBytes && (metadataBytes == 0 ? metadata is null : metadata is not null && metadata.Length >= metadataBytes);

    /// <summary>
    /// Throws the error for data/metadata buffers that do not fit <paramref name="blocks"/>
    /// blocks of <paramref name="ns"/> in its layout (<paramref name="dataBytes"/> and
    /// <paramref name="metadataBytes"/> as Namespace.DataBytes/MetadataBytes give them), naming
    /// the buffer that is wrong.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowBufferSizes(Namespace ns, string operation, int blocks, bool pract, DmaBuffer data, DmaBuffer? metadata, long dataBytes, long metadataBytes)
    {
        string layout = ns.MetadataDropped(pract)
            ? $"PRACT=1 with MS {ns.MetadataSize} == PI size: data only, {ns.BlockSize} bytes per block, no metadata buffer"
            : ns.MetadataSize == 0 ? $"{ns.BlockSize} bytes per block, no metadata"
            : ns.IsExtended ? $"extended LBAs: {ns.BlockSize}+{ns.MetadataSize} bytes per block in the data buffer, no separate metadata buffer"
            : $"separate metadata: {ns.BlockSize} bytes per block of data and {ns.MetadataSize} per block in the metadata buffer";
        throw new ArgumentException(
            $"{operation} of {blocks} blocks on namespace {ns.Id} ({layout}) needs a data buffer of at least {dataBytes} bytes"
            + (metadataBytes != 0 ? $" and a metadata buffer of at least {metadataBytes} bytes" : " and no metadata buffer")
            + $"; got {data.Length} bytes of data and {(metadata is null ? "no metadata buffer" : $"a {metadata.Length}-byte metadata buffer")}.",
            data.Length < dataBytes ? "data" : "metadata");
    }
}
