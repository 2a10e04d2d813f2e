using System.IO.MemoryMappedFiles;
using System.Text;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Emulation.Fuzz;

/// <summary>
/// Keeps the batch in flight in a small memory-mapped file, so that if the test host dies (a
/// device access into a guard page is a SIGSEGV) the commands that killed it are on disk. Each
/// batch overwrites the last; the file is deleted when the run ends normally.
/// </summary>
internal sealed unsafe class FlightRecorder : IDisposable
{
    private const int Capacity = 64 * 1024;
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _bytes;
    private readonly string _header;
    private int _length;

    public FlightRecorder(string path, string header)
    {
        Path = path;
        _header = header;
        _file = MemoryMappedFile.CreateFromFile(path, FileMode.Create, null, Capacity);
        _view = _file.CreateViewAccessor(0, Capacity);
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref _bytes);
    }

    public string Path { get; }

    /// <summary>Writes the batch about to be submitted (command number and all 16 dwords of each).</summary>
    public void Record(List<FuzzCommand> batch)
    {
        var text = new Span<byte>(_bytes, Capacity);
        int n = Encoding.ASCII.GetBytes(_header, text);
        foreach (var c in batch)
        {
            if (n > Capacity - 256)
                break;
            n += Encoding.ASCII.GetBytes($"command #{c.Index} SQ {c.Sq.Id} CID {c.Entry.CommandId}: {FuzzCommand.Dwords(c.Entry)}\n", text[n..]);
        }
        if (_length > n)
            text[n.._length].Clear();
        _length = n;
    }

    public void Dispose()
    {
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
        File.Delete(Path);
    }
}
