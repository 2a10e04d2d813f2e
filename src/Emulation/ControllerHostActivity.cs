namespace PolledNvme.Emulation;

/// <summary>What the idle device thread watches of the host besides its doorbells: how far it consumed the completion queues.</summary>
internal sealed partial class ControllerCore
{
    /// <summary>
    /// A value that changes whenever the host moves the head of an I/O completion queue (the sum of
    /// the heads), and whether the host is waking up for completions: an I/O completion queue
    /// signalled its interrupt for entries the host has not consumed yet. Device thread only.
    /// </summary>
    public uint HostCompletionHeads(out bool hostWaking)
    {
        uint heads = 0;
        hostWaking = false;
        var ioQueues = _ioQueues;
        for (int i = 0; i < ioQueues.Length; i++)
        {
            heads += ioQueues[i].CompletionQueue.PeekHead(out bool waking);
            hostWaking |= waking;
        }
        return heads;
    }
}
