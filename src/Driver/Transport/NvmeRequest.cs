using PolledNvme.Queues;

namespace PolledNvme.Driver.Transport;

/// <summary>Which way a command moves data (NVMe Base 2.0 §3.3.3.1: opcode bits 1:0 say it for every command).</summary>
internal enum DataDirection : byte
{
    /// <summary>No data (Flush, Abort, Delete I/O SQ...).</summary>
    None = 0,
    /// <summary>Host to controller (Write, Set Features with data, Dataset Management).</summary>
    HostToController = 1,
    /// <summary>Controller to host (Read, Identify, Get Log Page).</summary>
    ControllerToHost = 2,
    /// <summary>Both ways (vendor commands).</summary>
    Bidirectional = 3,
}

/// <summary>
/// One command as the driver hands it to a transport queue pair (SPDK's nvme_request): the
/// submission entry, the command identifier it owns for its whole life (its index in the
/// driver's request pool), and its data described in host terms — a DMA buffer, an offset and
/// a length, plus a separate metadata buffer. The transport turns that into its wire form
/// (PCIe: PRP1/PRP2/PRP list and MPTR; NVMe/TCP: an SGL data block descriptor with in-capsule
/// data or R2T/H2CData transfers), so nothing above the seam builds PRPs. When
/// <see cref="Data"/> (or <see cref="Metadata"/>) is null the command's own pointers go to the
/// controller as they are (the raw path). Subclasses hold what the layer above needs at
/// completion time.
/// </summary>
internal abstract class NvmeRequest
{
    /// <summary>The command; the transport sets <see cref="SubmissionEntry.CommandId"/> and its data pointers.</summary>
    public SubmissionEntry Command;

    /// <summary>The data buffer, or null when the command moves no data (or its pointers are raw).</summary>
    public DmaBuffer? Data;

    /// <summary>Offset of the first data byte in <see cref="Data"/>.</summary>
    public int DataOffset;

    /// <summary>Bytes of data to move; the driver checked it against the buffer and the transfer limit.</summary>
    public int DataLength;

    /// <summary>The separate metadata buffer (PCIe: MPTR), or null.</summary>
    public DmaBuffer? Metadata;

    /// <summary>Offset of the first metadata byte in <see cref="Metadata"/> (a split command's later parts start inside it).</summary>
    public int MetadataOffset;

    /// <summary>Bytes of metadata in <see cref="Metadata"/> from <see cref="MetadataOffset"/>.</summary>
    public int MetadataLength;

    /// <summary>True while rented from the driver's pool.</summary>
    internal bool Rented;

    /// <summary>Creates a request bound to command identifier <paramref name="commandId"/>.</summary>
    protected NvmeRequest(ushort commandId) => CommandId = commandId;

    /// <summary>This request's command identifier: its index in the pool and in the transport's tracker.</summary>
    public ushort CommandId { get; }

    /// <summary>True between submission and completion; set and cleared by the transport queue pair.</summary>
    public bool InFlight { get; internal set; }

    /// <summary>The data direction, from the opcode (what NVMe/TCP needs to expect C2HData or send H2CData).</summary>
    public DataDirection Direction => (DataDirection)(Command.Opcode & 3);

    /// <summary>
    /// Called on the polling thread when the controller completed the command (or when the
    /// queue pair failed it, e.g. on reset). The transport's ring and doorbell state is already
    /// updated, so the handler may submit new commands. The handler decides when the request
    /// goes back to the pool.
    /// </summary>
    protected internal abstract void OnCompleted(in CompletionEntry completion);
}
