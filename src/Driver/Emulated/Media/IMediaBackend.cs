using System.Runtime.CompilerServices;

// The crash-consistency test's child process (tools/PiCrashWriter) drives an EmulatedNamespace
// directly, as the device thread would; it needs the namespace's internal API.
[assembly: InternalsVisibleTo("PolledNvme.Tests.PiCrashWriter")]
namespace PolledNvme.Driver.Emulated.Media;

/// <summary>
/// Byte-addressed storage behind an emulated namespace. The namespace lays it out like QEMU's
/// nvme-ns: block data for every LBA first, then the metadata of every LBA.
/// Used by the device thread only. File failures are <see cref="MediaIoException"/>s.
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

    /// <summary>
    /// Format NVM: discards everything and lays the media out for <paramref name="format"/>, with
    /// every block's metadata set to <paramref name="metadataFill"/> repeated (deallocated blocks).
    /// Atomic: when it throws, the media still holds the old format and its data.
    /// </summary>
    void Reformat(MediaFormatRecord format, ReadOnlySpan<byte> metadataFill);
}

/// <summary>Layout helpers the backends share.</summary>
internal static class MediaLayout
{
    /// <summary>Fills <paramref name="destination"/> with <paramref name="pattern"/> repeated (the metadata of deallocated blocks).</summary>
    public static void Repeat(ReadOnlySpan<byte> pattern, Span<byte> destination)
    {
        for (int offset = 0; offset < destination.Length; offset += pattern.Length)
        {
            int n = Math.Min(pattern.Length, destination.Length - offset);
            pattern[..n].CopyTo(destination[offset..]);
        }
    }
}
