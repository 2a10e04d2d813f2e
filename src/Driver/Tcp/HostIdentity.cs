using System.Security.Cryptography;
using System.Text;

namespace PolledNvme.Driver.Tcp;

/// <summary>
/// This host's NQN and ID when the device string names none: nvme-cli's files
/// (/etc/nvme/hostnqn, /etc/nvme/hostid) when present, so that a target's allowed-hosts list
/// sees the same host as the kernel's initiator; otherwise a UUID NQN derived from the
/// machine id (stable across runs), or a random one without it.
/// </summary>
internal static class HostIdentity
{
    private const string UuidNqnPrefix = "nqn.2014-08.org.nvmexpress:uuid:";

    public static string DefaultHostNqn()
    {
        if (ReadFirstLine("/etc/nvme/hostnqn") is { } nqn && nqn.StartsWith("nqn.", StringComparison.Ordinal) && Encoding.UTF8.GetByteCount(nqn) <= NvmeTcpOptions.MaxNqnBytes)
            return nqn;
        return UuidNqnPrefix + MachineUuid().ToString("D");
    }

    public static Guid DefaultHostId(string hostNqn)
    {
        if (ReadFirstLine("/etc/nvme/hostid") is { } text && Guid.TryParseExact(text, "D", out Guid fromFile))
            return fromFile;
        if (hostNqn.StartsWith(UuidNqnPrefix, StringComparison.Ordinal) && Guid.TryParseExact(hostNqn[UuidNqnPrefix.Length..], "D", out Guid fromNqn))
            return fromNqn;
        return FromHash(hostNqn);
    }

    private static Guid MachineUuid()
        => ReadFirstLine("/etc/machine-id") is { Length: 32 } id && Guid.TryParseExact(id, "N", out Guid machine)
            ? FromHash("polled-nvme-host:" + machine.ToString("N"))
            : Guid.NewGuid();

    /// <summary>A version-4-shaped UUID from a SHA-256 of <paramref name="seed"/>: the same seed, the same UUID.</summary>
    private static Guid FromHash(string seed)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(seed), hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x40);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16], bigEndian: true);
    }

    private static string? ReadFirstLine(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadLines(path).FirstOrDefault()?.Trim() : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
