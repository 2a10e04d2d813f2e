using PolledNvme.Queues;

namespace PolledNvme.Driver.Transport;

/// <summary>
/// What the driver asks of a transport when it creates a queue pair: the queue id, the entries
/// it wants (the transport may clamp them to its limits; the pair's Depth says what it got),
/// the controller's DMA memory (rings, PRP list pages, PDU buffers come from it), the memory
/// page size in use (CC.MPS) and the largest transfer one command may describe,
/// and whether the pair sleeps on a completion interrupt (PCIe: its CQ is created with IEN and a vector).
/// </summary>
internal readonly record struct QueuePairSettings(ushort Id, int Entries, DmaAllocator Memory, int PageSize, int MaxTransferBytes, bool CompletionInterrupts = false);
