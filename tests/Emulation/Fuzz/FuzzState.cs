namespace PolledNvme.Tests.Emulation.Fuzz;

/// <summary>What the generator, the oracle and the driver loop share: the model, the memory, the host queues and the shadow.</summary>
internal sealed class FuzzState(ControllerModel model, FuzzMemory memory, ShadowStore shadow, int errorLogEntries)
{
    public ControllerModel Model { get; } = model;
    public FuzzMemory Memory { get; } = memory;
    public ShadowStore Shadow { get; } = shadow;
    /// <summary>ELPE + 1: entries of the Error Information log.</summary>
    public int ErrorLogEntries { get; } = errorLogEntries;
    /// <summary>Host submission queues by id (0 = admin); null where none exists.</summary>
    public HostSq?[] Sqs { get; } = new HostSq?[model.MaxIoQueuePairs + 1];
    public HostCq?[] Cqs { get; } = new HostCq?[model.MaxIoQueuePairs + 1];

    /// <summary>The live (not deleted) submission queue <paramref name="qid"/>, or null.</summary>
    public HostSq? Sq(int qid) => qid < Sqs.Length && Sqs[qid] is { Deleted: false } sq ? sq : null;

    public HostCq? Cq(int qid) => qid < Cqs.Length ? Cqs[qid] : null;

    /// <summary>Live I/O submission queues.</summary>
    public IEnumerable<HostSq> IoSqs()
    {
        for (int q = 1; q < Sqs.Length; q++)
            if (Sqs[q] is { Deleted: false } sq)
                yield return sq;
    }

    public bool HasIoQueues()
    {
        for (int q = 1; q < Sqs.Length; q++)
            if (Sqs[q] is not null || Cqs[q] is not null)
                return true;
        return false;
    }

    /// <summary>Forgets every I/O queue (controller reset).</summary>
    public void DropIoQueues()
    {
        Array.Clear(Sqs, 1, Sqs.Length - 1);
        Array.Clear(Cqs, 1, Cqs.Length - 1);
    }
}
