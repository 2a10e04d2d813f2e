using NUnit.Framework;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PolledNvme.Tests.Support;

/// <summary>
/// The machine's 2 MiB hugepage pool, for the few tests that change it or need it. Other
/// processes may hold hugepages or allocate from the pool at any moment, so a test asserts on
/// the persistent pool (nr_hugepages - surplus_hugepages: what was last written to
/// nr_hugepages), never on nr_hugepages or free_hugepages alone. Runs of this suite in other
/// checkouts change the pool too: <see cref="TakeTurn"/> makes them take turns.
/// </summary>
internal static unsafe class HugepagePool
{
    public const string SysfsDirectory = "/sys/kernel/mm/hugepages/hugepages-2048kB";
    private const int PageBytes = 2 << 20;
    private static readonly string LockPath = Path.Combine(Path.GetTempPath(), "polled-nvme-hugepage-pool.lock");

    public static bool Exists => File.Exists(Path.Combine(SysfsDirectory, "nr_hugepages"));

    /// <summary>The pool exists and this process may resize it (root).</summary>
    public static bool CanResize => Exists && geteuid() == 0;

    public static int Read(string name) => int.Parse(File.ReadAllText(Path.Combine(SysfsDirectory, name)).Trim());

    /// <summary>Pages reserved for whoever maps them, whatever other processes hold now.</summary>
    public static int Persistent => Read("nr_hugepages") - Read("surplus_hugepages");

    public static int Free => Exists ? Read("free_hugepages") : 0;

    /// <summary>Sets the persistent pool (pages in use beyond it become surplus, released when their holders exit).</summary>
    public static void SetPersistent(int pages) => File.WriteAllText(Path.Combine(SysfsDirectory, "nr_hugepages"), pages.ToString());

    /// <summary>
    /// Waits (up to two minutes) until no other run of this suite on the machine is changing the
    /// pool, and keeps them out until disposed: a lock file in the temp directory held with flock.
    /// </summary>
    public static IDisposable TakeTurn()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (true)
        {
            try
            {
                // FileShare.None is an exclusive flock on Linux: one holder machine-wide.
                return new FileStream(LockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(100);
            }
            catch (IOException e)
            {
                Assert.Inconclusive($"another process has held {LockPath} (the hugepage pool) for two minutes: {e.Message}");
                throw;
            }
        }
    }

    /// <summary>Maps and touches one hugepage, as another process would hold one; null when none is free.</summary>
    public static IDisposable? Hold()
    {
        void* p = mmap(null, PageBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
        if (p == MAP_FAILED)
            return null;
        *(byte*)p = 1;
        return new Held(p);
    }

    private sealed class Held(void* page) : IDisposable
    {
        private void* _page = page;

        public void Dispose()
        {
            if (_page != null)
                munmap(_page, PageBytes);
            _page = null;
        }
    }
}
