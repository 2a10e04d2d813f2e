using System.Runtime.InteropServices;
using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Driver;

/// <summary>Public admin commands: Format NVM, Get Log Page (error information, SMART / health), Abort, Get Features, raw admin.</summary>
public sealed partial class NvmeController
{
    /// <summary>
    /// Format NVM (NVM CS 1.0 §4.2): LBA format <paramref name="lbaFormatIndex"/> (0..63, upper
    /// bits in CDW10[13:12]), MSET (<paramref name="extendedMetadata"/>), PI type, PIL
    /// (<paramref name="piFirst"/>), SES; then re-reads the namespace so its format, PI settings
    /// and <see cref="Namespace.ProtectionFormat"/> match. Destroys the namespace's data.
    /// </summary>
    public void FormatNvm(uint nsid, int lbaFormatIndex, bool extendedMetadata = false, int piType = 0, bool piFirst = false, int secureErase = 0)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (lbaFormatIndex is < 0 or > 63)
            throw new ArgumentOutOfRangeException(nameof(lbaFormatIndex), $"The LBA format index is 6 bits (0..63); got {lbaFormatIndex}.");
        if (piType is < 0 or > 3)
            throw new ArgumentOutOfRangeException(nameof(piType), $"PI type is 0 (off) or 1..3; got {piType}.");
        if (secureErase is < 0 or > 2)
            throw new ArgumentOutOfRangeException(nameof(secureErase), $"SES is 0 (none), 1 (user data erase) or 2 (cryptographic erase); got {secureErase}.");
        if (nsid != 0xFFFFFFFF)
        {
            Namespace ns = GetNamespace(nsid);
            if (lbaFormatIndex >= ns.LbaFormats.Count)
                throw new ArgumentOutOfRangeException(nameof(lbaFormatIndex), $"Namespace {nsid} supports LBA formats 0..{ns.LbaFormats.Count - 1}; got {lbaFormatIndex}.");
        }
        _admin.Execute(AdminCommandBuilder.FormatNvm(nsid, lbaFormatIndex, extendedMetadata, piType, piFirst, secureErase));
        RefreshNamespace(nsid);
    }

    /// <summary>
    /// Identify (NVMe Base 2.0 §5.17): reads the data structure CNS <paramref name="cns"/> names
    /// for <paramref name="nsid"/> (with <paramref name="csi"/> for an I/O command set specific
    /// one) into the first 4096 bytes of <paramref name="page"/>, a buffer of this controller's
    /// <see cref="Memory"/>. Read it with <c>MemoryMarshal.Read</c> as <see cref="IdentifyController"/>,
    /// <see cref="IdentifyNamespace"/>, <see cref="NvmIdentifyNamespace"/> or a list of NSIDs.
    /// (<see cref="Identify"/> and <see cref="Namespaces"/> hold what the driver read at start.)
    /// </summary>
    /// <exception cref="NvmeException">The controller failed the command (e.g. an unsupported CNS, an inactive namespace).</exception>
    /// <exception cref="ArgumentException"><paramref name="page"/> holds fewer than 4096 bytes, or comes from another controller's memory.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="page"/> was disposed.</exception>
    public void ReadIdentify(IdentifyCns cns, uint nsid, DmaBuffer page, byte csi = 0)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(page);
        if (page.Length < IdentifyController.Size)
            throw new ArgumentException($"An Identify data structure is {IdentifyController.Size} bytes; the page buffer has {page.Length}.", nameof(page));
        _admin.Execute(AdminCommandBuilder.Identify(cns, nsid, csi), page, IdentifyController.Size);
    }

    /// <summary>Get Log Page: Error Information (LID 01h, §5.16.1.2), <paramref name="entries"/> newest first.</summary>
    public ErrorInformationEntry[] GetErrorLog(int entries = 16)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (entries is < 1 or > 256)
            throw new ArgumentOutOfRangeException(nameof(entries), $"Ask for 1..256 error log entries (ELPE + 1 at most); got {entries}.");
        int bytes = entries * ErrorInformationEntry.Size;
        using DmaBuffer buffer = Memory.Allocate(bytes);
        _admin.Execute(AdminCommandBuilder.GetLogPage(LogPageId.ErrorInformation, bytes), buffer, bytes);
        return MemoryMarshal.Cast<byte, ErrorInformationEntry>(buffer.Span[..bytes]).ToArray();
    }

    /// <summary>Get Log Page: SMART / Health Information (LID 02h, §5.16.1.3), controller wide.</summary>
    public SmartHealthLog GetSmartLog()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using DmaBuffer buffer = Memory.Allocate(SmartHealthLog.Size);
        _admin.Execute(AdminCommandBuilder.GetLogPage(LogPageId.SmartHealth, SmartHealthLog.Size), buffer, SmartHealthLog.Size);
        return MemoryMarshal.Read<SmartHealthLog>(buffer.Span);
    }

    /// <summary>
    /// Abort (§5.1) command <paramref name="commandId"/> on queue <paramref name="queueId"/>.
    /// Returns true when the controller reports it aborted the command (CQE DW0 bit 0 = 0);
    /// the aborted command then completes with Command Abort Requested.
    /// </summary>
    public bool Abort(ushort queueId, ushort commandId)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        CompletionEntry cqe = _admin.Execute(AdminCommandBuilder.Abort(queueId, commandId));
        bool aborted = (cqe.Result & 1) == 0;
        if (NvmeEventSource.Log.IsEnabled())
            NvmeEventSource.Log.AbortSent(Address, queueId, commandId, aborted);
        return aborted;
    }

    /// <summary>Get Features (§5.15): returns CQE DW0.</summary>
    public uint GetFeature(FeatureId feature, uint nsid = 0)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _admin.Execute(AdminCommandBuilder.GetFeatures(feature, nsid)).Result;
    }

    /// <summary>
    /// Runs a caller-built admin command (PRPs built for <paramref name="data"/> when given)
    /// and returns its completion whatever its status. Doorbell Buffer Config (7Ch) is refused:
    /// the driver owns the shadow doorbells (see <see cref="NvmeControllerOptions.ShadowDoorbells"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The command is a Doorbell Buffer Config.</exception>
    public CompletionEntry ExecuteAdminRaw(in SubmissionEntry command, DmaBuffer? data = null, int dataLength = 0)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        // The controller would read doorbells from the caller's memory (freed after the call) while
        // the driver writes its own: queues would stall, and the device would read memory nobody owns.
        if (command.Opcode == (byte)AdminOpcode.DoorbellBufferConfig)
            throw new ArgumentException("Doorbell Buffer Config (admin opcode 7Ch) cannot be sent raw: the driver sends it itself when the controller offers shadow doorbells; "
                + "turn them off with NvmeControllerOptions.ShadowDoorbells = false or dbbuf=0 in a pci: device string.", nameof(command));
        return _admin.ExecuteRaw(command, data, dataLength);
    }
}
