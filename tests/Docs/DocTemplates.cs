namespace PolledNvme.Tests.Docs;

/// <summary>
/// What a documentation block that is a fragment runs inside: the names it may use without
/// declaring them. Every template gets <c>directory</c> (a fresh temporary directory, removed
/// afterwards, for <c>emu:PATH</c> images). The list is in docs/LIBRARY.md, "Code blocks in this
/// guide"; a new template goes in both places.
/// </summary>
public static class DocTemplates
{
    /// <summary>
    /// Namespaces every block sees: an SDK project's implicit usings. A whole program
    /// (<c>program</c>) names the PolledNvme namespaces it uses itself, as a reader's would.
    /// </summary>
    public const string Usings = """
        using System;
        using System.Collections.Generic;
        using System.IO;
        using System.Linq;
        using System.Threading;
        using System.Threading.Tasks;
        """;

    // What the fragments' preludes and the guide's sentences around them assume.
    private const string PolledNvmeUsings = """
        using PolledNvme.Driver;
        using PolledNvme.Protection;
        using PolledNvme.Queues;
        """;

    // The device of the guide's first block: 4 KiB blocks, 8 bytes of metadata (separate), PI Type 1.
    private const string Io = """
        using var controller = NvmeController.Open("mem:lbads=4096,ms=8,pi=1,size=64M");
        Namespace ns = controller.Namespaces[0];
        using IoQueuePair qp = controller.CreateIoQueuePair(entries: 64);
        using DmaBuffer buffer = controller.Memory.Allocate(8 * ns.BlockSize);
        """;

    // A namespace without metadata: commands need no metadata buffer or PI options.
    private const string Plain = """
        using var controller = NvmeController.Open("mem:lbads=4096,size=64M");
        Namespace ns = controller.Namespaces[0];
        using IoQueuePair qp = controller.CreateIoQueuePair(entries: 64);
        using DmaBuffer buffer = controller.Memory.Allocate(8 * ns.BlockSize);
        """;

    // The event-loop sketches: SubmitWhatIsReady reads (PRACT, no checks) until 64 went out,
    // DoOtherWork ends the loop once they did.
    private const string Loop = Io + "\n" + """
        bool running = true;
        int submitted = 0;
        var pract = new IoProtectionOptions { Pract = true };
        int SubmitWhatIsReady(IoQueuePair q)
        {
            int now = 0;
            for (; submitted < 64 && q.AvailableSlots > 0; submitted++, now++)
                q.Read(ns, (ulong)(submitted % 8), 1, buffer, null, pract, static (_, in result) => result.ThrowIfFailed(), null);
            return now;
        }
        void DoOtherWork() { if (submitted >= 64) running = false; }
        """;

    // The Protection package on its own: 8 blocks of data and their separate metadata in host memory.
    private const string Protection = Io + "\n" + """
        int blockCount = 8;
        byte[] data = new byte[blockCount * ns.BlockSize];
        byte[] metadata = new byte[blockCount * ns.MetadataSize];
        byte[] bytes = data;
        """;

    /// <summary>Template name to the using directives it adds and the statements that run before the block.</summary>
    public static readonly IReadOnlyDictionary<string, (string Usings, string Prelude)> All = new Dictionary<string, (string, string)>
    {
        // A whole program: the block declares everything it uses.
        ["program"] = ("", ""),
        ["io"] = (PolledNvmeUsings, Io),
        ["plain"] = (PolledNvmeUsings, Plain),
        ["loop"] = (PolledNvmeUsings, Loop),
        ["protection"] = (PolledNvmeUsings, Protection),
        // README's copy of examples/Hello's HelloProgram.Run body.
        ["hello"] = (PolledNvmeUsings + "\nusing static PolledNvme.Examples.Hello.HelloProgram;", "TextWriter output = TextWriter.Null;"),
    };
}
