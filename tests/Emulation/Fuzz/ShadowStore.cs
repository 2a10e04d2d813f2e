using System.Collections;

namespace PolledNvme.Tests.Emulation.Fuzz;

/// <summary>
/// What the stored blocks must still be: per namespace, a hash of every block (data and
/// metadata, read raw) at the last checkpoint, and which blocks a successful write-like
/// command (or one that vanished) may have changed since. At the next checkpoint every block
/// outside those ranges must hash as before; a format makes every block of its namespaces fair game.
/// </summary>
internal sealed class ShadowStore
{
    private readonly Namespace[] _namespaces;

    private sealed class Namespace
    {
        public ulong[]? Hashes;          // null: no snapshot yet (start, or after a format)
        public BitArray Touched = new(0);
    }

    public ShadowStore(int namespaces)
    {
        _namespaces = new Namespace[namespaces];
        for (int i = 0; i < namespaces; i++)
            _namespaces[i] = new Namespace();
    }

    /// <summary>Blocks [lba, lba + count) of <paramref name="nsid"/> may have changed.</summary>
    public void Touch(uint nsid, long lba, long count)
    {
        var ns = _namespaces[nsid - 1];
        if (ns.Hashes is null)
            return;
        long end = Math.Min(lba + count, ns.Touched.Length);
        for (long b = Math.Max(lba, 0); b < end; b++)
            ns.Touched[(int)b] = true;
    }

    /// <summary>Format NVM changed <paramref name="nsid"/>: nothing of the old snapshot holds.</summary>
    public void Reformatted(uint nsid) => _namespaces[nsid - 1].Hashes = null;

    /// <summary>
    /// Compares a fresh read of every block with the snapshot and takes it as the next one.
    /// Returns the first block that changed outside the touched ranges, or -1.
    /// </summary>
    public long Compare(uint nsid, ulong[] fresh)
    {
        var ns = _namespaces[nsid - 1];
        long changed = -1;
        if (ns.Hashes is { } old && old.Length == fresh.Length)
        {
            for (int b = 0; b < fresh.Length && changed < 0; b++)
                if (old[b] != fresh[b] && !ns.Touched[b])
                    changed = b;
        }
        ns.Hashes = fresh;
        ns.Touched = new BitArray(fresh.Length);
        return changed;
    }
}
