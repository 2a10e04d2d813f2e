using PolledNvme.Emulation.Media;
namespace PolledNvme.Bench.Options;

/// <summary>
/// Files a command will write (<c>--output</c>, <c>--plot</c>, <c>read --data/--metadata</c>),
/// checked before the device is opened: each can be created or written, is not a directory,
/// is not a file the device keeps its data in (the image or its format record, however it is
/// spelled: symlinks, relative paths and hard links are caught), is not any other emulated
/// namespace's image or format record, and is not another output.
/// Nothing is written or truncated by the check.
/// </summary>
internal static class OutputPaths
{
    /// <summary>Checks every output.</summary>
    /// <param name="outputs">Flag and path of each output the command line names (null paths are skipped).</param>
    /// <param name="deviceFiles">The device's data files (<see cref="Engines.DeviceSpec.DataFiles"/>).</param>
    /// <exception cref="UsageException">An output cannot be written or would overwrite the device's data; names the flag.</exception>
    public static void Check(IReadOnlyList<(string Flag, string? Path)> outputs, IReadOnlyList<string> deviceFiles)
    {
        for (int i = 0; i < outputs.Count; i++)
        {
            var (flag, path) = outputs[i];
            if (path is null) continue;
            if (path.Length == 0) throw new UsageException(flag, "needs a file name");
            if (path.Contains('\0')) throw new UsageException(flag, "the file name contains a NUL character");
            foreach (string data in deviceFiles)
            {
                if (FileIdentity.Same(path, data))
                    throw new UsageException(flag, $"'{path}' is {DescribeDeviceFile(data)}; writing there would destroy the device's data. Give another file.");
            }
            if (ImageRecordOf(path) is { } record)
                throw new UsageException(flag, $"'{path}' is an emulated namespace's image (its format record '{record}' is beside it); writing there would destroy it. Give another file.");
            if (path.EndsWith(EmulatedImageFiles.FormatRecordSuffix, StringComparison.Ordinal) && File.Exists(path))
                throw new UsageException(flag, $"'{path}' is an emulated namespace's format record; writing there would destroy the image's format. Give another file.");
            for (int j = 0; j < i; j++)
            {
                if (outputs[j].Path is { } other && FileIdentity.Same(path, other))
                    throw new UsageException(flag, $"'{path}' is also the {outputs[j].Flag} file; give each output its own file");
            }
            CheckWritable(flag, path);
        }
    }

    // Any image of the emulated controller, not only this command's device: it is known by the
    // format record beside it (under the name given or the name a symlink leads to).
    private static string? ImageRecordOf(string path)
    {
        if (FileIdentity.Stat(path) is not { IsRegularFile: true }) return null;
        foreach (string name in new[] { path, FileIdentity.Canonical(path) })
        {
            string record = name + EmulatedImageFiles.FormatRecordSuffix;
            if (File.Exists(record)) return record;
        }
        return null;
    }

    private static string DescribeDeviceFile(string data)
        => data.EndsWith(EmulatedImageFiles.FormatRecordSuffix, StringComparison.Ordinal)
            ? $"the format record of the device's image ('{data}')"
            : $"the device's image ('{data}')";

    // Opening without truncation (or creating and removing a new file) asks the kernel the same
    // question the real write will, without touching what is there.
    private static void CheckWritable(string flag, string path)
    {
        var info = FileIdentity.Stat(path);
        if (info is { IsDirectory: true })
            throw new UsageException(flag, $"'{path}' is a directory; give a file name");
        try
        {
            if (info is { IsRegularFile: false })
                return;   // a device node or a pipe (/dev/null, /dev/stdout): opening it early could block or have effects
            if (info is not null)
            {
                using var existing = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
                return;
            }
            string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
            if (directory is not null && !Directory.Exists(directory))
                throw new UsageException(flag, $"the directory '{directory}' does not exist; create it or give another path");
            using (new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None)) { }
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException(flag, $"'{path}' cannot be written: {e.Message}");
        }
    }
}
