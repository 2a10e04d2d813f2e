namespace PolledNvme.Driver.Emulated.Media;

/// <summary>
/// Byte-addressed storage behind an emulated namespace. The namespace lays it out like QEMU's
/// nvme-ns: block data for every LBA first, then the metadata of every LBA.
/// Used by the device thread only.
/// </summary>
internal interface IMediaBackend : IDisposable
{
    /// <summary>Bytes of storage.</summary>
    long Length { get; }

    /// <summary>False for the null backend: nothing written can be read back.</summary>
    bool RetainsData { get; }

    /// <summary>Reads <paramref name="destination"/>.Length bytes at <paramref name="offset"/>.</summary>
    void Read(long offset, Span<byte> destination);

    /// <summary>Writes <paramref name="source"/> at <paramref name="offset"/>.</summary>
    void Write(long offset, ReadOnlySpan<byte> source);

    /// <summary>Sets <paramref name="length"/> bytes at <paramref name="offset"/> to zero.</summary>
    void Zero(long offset, long length);

    /// <summary>Makes written data durable (Flush command).</summary>
    void Flush();

    /// <summary>Discards everything and resizes to <paramref name="length"/> zero bytes (Format NVM).</summary>
    void Reset(long length);
}
