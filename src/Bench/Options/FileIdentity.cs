using System.Runtime.InteropServices;
using Tmds.Linux;

namespace PolledNvme.Bench.Options;

/// <summary>
/// Whether two paths name the same file, however they are spelled: by identity (device and
/// inode, or the same block device behind two device nodes) when both exist, and by canonical
/// path (symlinks, <c>./</c>, <c>..</c> resolved) when one does not exist yet.
/// </summary>
internal static unsafe partial class FileIdentity
{
    /// <summary>What <c>stat(2)</c> says about an existing path (symlinks followed).</summary>
    public readonly record struct Info(ulong Device, ulong Inode, mode_t Mode, ulong Rdev)
    {
        /// <summary>A block device node.</summary>
        public bool IsBlockDevice => LibC.S_ISBLK(Mode);
        /// <summary>A regular file.</summary>
        public bool IsRegularFile => LibC.S_ISREG(Mode);
        /// <summary>A directory.</summary>
        public bool IsDirectory => LibC.S_ISDIR(Mode);
    }

    /// <summary><c>stat(2)</c> of <paramref name="path"/>, or null when it does not exist (or cannot be looked at).</summary>
    public static Info? Stat(string path)
    {
        if (string.IsNullOrEmpty(path)) return null;
        byte[] bytes = Utf8Z(path);
        stat st;
        fixed (byte* p = bytes)
        {
            if (LibC.stat(p, &st) != 0) return null;
        }
        return new Info(st.st_dev, st.st_ino, st.st_mode, st.st_rdev);
    }

    /// <summary>
    /// The canonical absolute path: the real path of an existing file, or the real path of the
    /// nearest existing ancestor with the rest appended.
    /// </summary>
    public static string Canonical(string path)
    {
        string full = Path.GetFullPath(path);
        string rest = "";
        string current = full;
        while (true)
        {
            if (RealPath(current) is { } real)
                return rest.Length == 0 ? real : Path.Join(real, rest);
            string? parent = Path.GetDirectoryName(current);
            if (parent is null) return full;
            string name = Path.GetFileName(current);
            rest = rest.Length == 0 ? name : Path.Join(name, rest);
            current = parent;
        }
    }

    /// <summary>Whether <paramref name="a"/> and <paramref name="b"/> name the same file.</summary>
    public static bool Same(string a, string b)
    {
        if (Stat(a) is { } x && Stat(b) is { } y)
            return (x.Device == y.Device && x.Inode == y.Inode) || (x.IsBlockDevice && y.IsBlockDevice && x.Rdev == y.Rdev);
        return string.Equals(Canonical(a), Canonical(b), StringComparison.Ordinal);
    }

    private static string? RealPath(string path)
    {
        nint resolved = realpath(path, 0);
        if (resolved == 0) return null;
        try
        {
            return Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            NativeMemory.Free((void*)resolved);
        }
    }

    private static byte[] Utf8Z(string s)
    {
        var bytes = new byte[System.Text.Encoding.UTF8.GetByteCount(s) + 1];
        System.Text.Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint realpath(string path, nint resolved);
}
