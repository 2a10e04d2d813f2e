using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.ObjectPool;
using PolledNvme.Queues;

namespace PolledNvme.Bench.Micro;

/// <summary>
/// Request context pooling: the per-queue preallocated array (<see cref="RequestPool{T}"/>,
/// what the queue pairs use) against Microsoft.Extensions.ObjectPool's DefaultObjectPool, in
/// the pattern of a queue at depth 32: rent a batch, return it.
/// </summary>
[MemoryDiagnoser]
public class RequestPoolBenchmarks
{
    private const int Batch = 32;

    /// <summary>Stand-in for a request context (a command plus completion fields).</summary>
    public sealed class Context
    {
        public SubmissionEntry Command;
        public object? State;
        public ushort CommandId;
    }

    private sealed class ContextPolicy : IPooledObjectPolicy<Context>
    {
        public Context Create() => new();
        public bool Return(Context obj) => true;
    }

    private RequestPool<Context> _array = null!;
    private DefaultObjectPool<Context> _objectPool = null!;
    private readonly int[] _indices = new int[Batch];
    private readonly Context[] _rented = new Context[Batch];

    [GlobalSetup]
    public void Setup()
    {
        _array = new RequestPool<Context>(128, id => new Context { CommandId = id });
        _objectPool = new DefaultObjectPool<Context>(new ContextPolicy(), 128);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    public int PreallocatedArray()
    {
        int sum = 0;
        for (int i = 0; i < Batch; i++)
        {
            _array.TryRent(out int index);
            _indices[i] = index;
            sum += _array[index].CommandId;
        }
        for (int i = 0; i < Batch; i++)
            _array.Return(_indices[i]);
        return sum;
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public int ObjectPool()
    {
        int sum = 0;
        for (int i = 0; i < Batch; i++)
        {
            Context c = _objectPool.Get();
            _rented[i] = c;
            sum += c.CommandId;
        }
        for (int i = 0; i < Batch; i++)
            _objectPool.Return(_rented[i]);
        return sum;
    }
}
