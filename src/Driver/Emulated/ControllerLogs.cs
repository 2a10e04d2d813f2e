using PolledNvme.Driver.Spec;

namespace PolledNvme.Driver.Emulated;

/// <summary>
/// What Get Log Page reports: the Error Information ring (LID 01h, newest first) and the SMART /
/// Health counters (LID 02h). Updated by the device thread only.
/// </summary>
internal sealed class ControllerLogs
{
    /// <summary>Entries kept in the error log (Identify ELPE + 1).</summary>
    public const int ErrorEntries = 16;

    private readonly ErrorInformationEntry[] _errors = new ErrorInformationEntry[ErrorEntries];
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

    /// <summary>Records a failed command (Error Information, NVMe Base 2.0 §5.16.1.2).</summary>
    public void RecordError(ushort sqId, ushort commandId, NvmeStatus status, uint namespaceId, ulong lba)
    {
        _errorCount++;
        if (status.Type == StatusCodeType.MediaAndDataIntegrity)
            MediaErrors++;
        int slot = (int)(_errorCount % ErrorEntries);
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
