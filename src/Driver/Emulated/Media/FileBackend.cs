using Microsoft.Win32.SafeHandles;

namespace PolledNvme.Driver.Emulated.Media;

/// <summary>
/// Media in a file, synchronous positional I/O (pread/pwrite through <see cref="RandomAccess"/>).
/// Data of all blocks first, then all metadata: QEMU's nvme-ns layout, so an image can move
/// between the two.
/// </summary>
internal sealed class FileBackend : IMediaBackend
{
    private static readonly byte[] Zeros = new byte[64 * 1024];
    private readonly SafeFileHandle _file;

    /// <summary>Opens (or creates) <paramref name="path"/>; <paramref name="created"/> says whether it was new or shorter than needed.</summary>
    public FileBackend(string path, long length, out bool created)
    {
        created = !File.Exists(path);
        try
        {
            _file = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"emulated namespace: cannot open backing file '{path}': {e.Message}", e);
        }
        long current = RandomAccess.GetLength(_file);
        if (current < length)
        {
            // A new file, or one made for a smaller format: the added tail reads as zeros.
            RandomAccess.SetLength(_file, length);
            created |= current == 0;
        }
        Length = length;
        Path = path;
    }

    /// <summary>The backing file.</summary>
    public string Path { get; }

    /// <inheritdoc/>
    public long Length { get; private set; }

    /// <inheritdoc/>
    public bool RetainsData => true;

    /// <inheritdoc/>
    public void Read(long offset, Span<byte> destination)
    {
        Check(offset, destination.Length);
        while (destination.Length > 0)
        {
            int n = RandomAccess.Read(_file, destination, offset);
            if (n == 0)
            {
                destination.Clear();   // past the end of a sparse file: zeros
                return;
            }
            destination = destination[n..];
            offset += n;
        }
    }

    /// <inheritdoc/>
    public void Write(long offset, ReadOnlySpan<byte> source)
    {
        Check(offset, source.Length);
        RandomAccess.Write(_file, source, offset);
    }

    /// <inheritdoc/>
    public void Zero(long offset, long length)
    {
        Check(offset, length);
        while (length > 0)
        {
            int n = (int)Math.Min(length, Zeros.Length);
            RandomAccess.Write(_file, Zeros.AsSpan(0, n), offset);
            offset += n;
            length -= n;
        }
    }

    /// <inheritdoc/>
    public void Flush() => RandomAccess.FlushToDisk(_file);

    /// <inheritdoc/>
    public void Reset(long length)
    {
        RandomAccess.SetLength(_file, 0);
        RandomAccess.SetLength(_file, length);
        Length = length;
    }

    private void Check(long offset, long length)
    {
        if (offset < 0 || length < 0 || offset > Length - length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"media access 0x{offset:X}+0x{length:X} is outside the {Length}-byte file '{Path}'.");
    }

    /// <inheritdoc/>
    public void Dispose() => _file.Dispose();
}
