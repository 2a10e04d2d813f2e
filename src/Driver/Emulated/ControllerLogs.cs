using PolledNvme.Driver.Spec;

namespace PolledNvme.Driver.Emulated;

/// <summary>
/// What Get Log Page reports: the Error Information ring (LID 01h, newest first) and the SMART /
/// Health counters (LID 02h). Updated by the device thread only. Beside each error entry it keeps
/// the text a completion cannot carry (a media error's errno, file and offset), which the host
/// reads through <see cref="FindDetail"/> when it turns the failed completion into an exception.
/// </summary>
internal sealed class ControllerLogs
{
    /// <summary>Entries kept in the error log (Identify ELPE + 1).</summary>
    public const int ErrorEntries = 16;

    /// <summary>SQID and CID of an error that belongs to no command (NVMe Base 2.0 Fig 198).</summary>
    public const ushort NoCommand = 0xFFFF;

    private readonly ErrorInformationEntry[] _errors = new ErrorInformationEntry[ErrorEntries];
    // Read by host threads (FindDetail) while the device thread records: guarded by the lock. Only
    // failed commands come here, never the I/O hot path.
    private readonly (ushort SqId, ushort CommandId, string? Text)[] _details = new (ushort, ushort, string?)[ErrorEntries];
    private readonly object _detailLock = new();
    private ulong _errorCount;
    private ulong _dataUnitsRead512;
    private ulong _dataUnitsWritten512;
    private readonly long _startTicks = Environment.TickCount64;

    /// <summary>SMART Host Read Commands.</summary>
    public ulong HostReadCommands;
    /// <summary>SMART Host Write Commands.</summary>
    public ulong HostWriteCommands;
    /// <summary>SMART Media and Data Integrity Errors.</summary>
    public ulong MediaErrors;

    /// <summary>Counts <paramref name="bytes"/> of block data read by a host command.</summary>
    public void CountRead(long bytes) => _dataUnitsRead512 += (ulong)(bytes >> 9);

    /// <summary>Counts <paramref name="bytes"/> of block data written by a host command.</summary>
    public void CountWritten(long bytes) => _dataUnitsWritten512 += (ulong)(bytes >> 9);

    /// <summary>
    /// Records a failed command (Error Information, NVMe Base 2.0 §5.16.1.2), with the text that
    /// explains it (<paramref name="detail"/>; null when the status says it all).
    /// </summary>
    public void RecordError(ushort sqId, ushort commandId, NvmeStatus status, uint namespaceId, ulong lba, string? detail = null)
    {
        if (status.Type == StatusCodeType.MediaAndDataIntegrity)
            MediaErrors++;
        int slot;
        lock (_detailLock)
        {
            _errorCount++;
            slot = (int)(_errorCount % ErrorEntries);
            _details[slot] = (sqId, commandId, detail);
        }
        _errors[slot] = new ErrorInformationEntry
        {
            ErrorCount = _errorCount,
            SqId = sqId,
            CommandId = commandId,
            StatusAndPhase = (ushort)(status.Value << 1),
            ParameterErrorLocation = 0xFFFF,   // not reported
            Lba = lba,
            NamespaceId = namespaceId,
        };
    }

    /// <summary>
    /// The text recorded with the newest error of command <paramref name="commandId"/> on queue
    /// <paramref name="sqId"/>, or null (none, or already pushed out by 16 newer errors). Called by
    /// the host after it reaped that command's failed completion, which the device posts after
    /// recording it, so the newest entry for the pair is this failure's.
    /// </summary>
    public string? FindDetail(ushort sqId, ushort commandId)
    {
        lock (_detailLock)
        {
            ulong count = _errorCount;
            for (int i = 0; i < ErrorEntries && (ulong)i < count; i++)
            {
                var entry = _details[(int)((count - (ulong)i) % ErrorEntries)];
                if (entry.SqId == sqId && entry.CommandId == commandId)
                    return entry.Text;
            }
            return null;
        }
    }

    /// <summary>Writes the error log, newest entry first, into <paramref name="page"/> (zeroed by the caller).</summary>
    public void WriteErrorLog(Span<byte> page)
    {
        int n = (int)Math.Min(_errorCount, ErrorEntries);
        for (int i = 0; i < n && (i + 1) * ErrorInformationEntry.Size <= page.Length; i++)
        {
            var entry = _errors[(int)((_errorCount - (ulong)i) % ErrorEntries)];
            System.Runtime.InteropServices.MemoryMarshal.Write(page[(i * ErrorInformationEntry.Size)..], in entry);
        }
    }

    /// <summary>Writes the SMART / Health page into <paramref name="page"/> (512 bytes).</summary>
    public void WriteSmartLog(Span<byte> page)
    {
        var smart = new SmartHealthLog
        {
            CompositeTemperature = 313,   // 40 °C
            AvailableSpare = 100,
            AvailableSpareThreshold = 10,
            // Data units are thousands of 512-byte units, rounded up (§5.16.1.3).
            DataUnitsRead = (_dataUnitsRead512 + 999) / 1000,
            DataUnitsWritten = (_dataUnitsWritten512 + 999) / 1000,
            HostReadCommands = HostReadCommands,
            HostWriteCommands = HostWriteCommands,
            PowerCycles = 1,
            PowerOnHours = (ulong)((Environment.TickCount64 - _startTicks) / 3_600_000),
            MediaErrors = MediaErrors,
            ErrorLogEntries = _errorCount,
        };
        System.Runtime.InteropServices.MemoryMarshal.Write(page, in smart);
    }
}
