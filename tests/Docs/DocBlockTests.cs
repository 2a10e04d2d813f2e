using NUnit.Framework;

namespace PolledNvme.Tests.Docs;

/// <summary>
/// Every <c>```csharp</c> block of README.md and docs/LIBRARY.md compiles against the built
/// libraries and runs on an emulated device (issue 14 §7); blocks marked compile-only (a
/// <c>pci:</c> device, which needs VFIO) only compile. All blocks are one compilation.
/// </summary>
public class DocBlockTests
{
    private static readonly Lazy<DocCompilation> Compiled = new(() => new DocCompilation(DocBlocks.All().ToList()));

    private static IEnumerable<TestCaseData> Blocks()
        => DocBlocks.All().Select(b => new TestCaseData(b.File, b.FirstCodeLine).SetName($"{b.File}:{b.FirstCodeLine} ({b.Template}{(b.CompileOnly ? ", compile-only" : "")})"));

    [TestCaseSource(nameof(Blocks))]
    public void Block_compiles_and_runs(string file, int line)
    {
        DocCompilation compiled = Compiled.Value;
        DocBlock block = compiled.Blocks.Single(b => b.File == file && b.FirstCodeLine == line);
        IReadOnlyList<string> errors = compiled.ErrorsOf(block);
        Assert.That(errors, Is.Empty, $"{block} does not compile:\n{string.Join('\n', errors)}");
        if (block.CompileOnly)
            Assert.Pass($"{block} compiles; marked compile-only, so it does not run here.");
        string directory = Directory.CreateTempSubdirectory("pnvme-doc-").FullName;
        try
        {
            compiled.Run(block, directory);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    public void Both_documents_have_blocks()
    {
        var blocks = DocBlocks.All().ToList();
        foreach (string document in DocBlocks.Documents)
            Assert.That(blocks.Count(b => b.File == document), Is.GreaterThan(0), document);
    }

    [Test]
    public void A_marker_without_its_block_and_an_unclosed_block_are_refused()
    {
        var stray = Assert.Throws<FormatException>(() => DocBlocks.Parse("x.md", ["<!-- snippet: io -->", "text", "```csharp", "```"]).ToList())!;
        Assert.That(stray.Message, Does.Contain("x.md:1"));
        var open = Assert.Throws<FormatException>(() => DocBlocks.Parse("x.md", ["```csharp", "int a = 1;"]).ToList())!;
        Assert.That(open.Message, Does.Contain("x.md:1").And.Contain("never closed"));
    }

    [Test]
    public void Markers_choose_the_template_and_compile_only()
    {
        var blocks = DocBlocks.Parse("x.md", ["```csharp", "int a = 1;", "```", "<!-- snippet: io, compile-only (pci: needs VFIO) -->", "  ```csharp", "  int b = 2;", "  ```",
            "```", "<!-- snippet: io -->", "```"]).ToList();   // a marker shown inside another block is text
        Assert.That(blocks.Select(b => (b.Template, b.CompileOnly, b.FirstCodeLine, b.Code)),
            Is.EqualTo(new[] { ("program", false, 2, "int a = 1;"), ("io", true, 6, "int b = 2;") }));
    }

    [Test]
    public void A_block_that_does_not_compile_is_reported_with_its_file_and_line()
    {
        var bad = new DocBlock("x.md", 40, "int a = 1;\nNoSuchType b = null;", "program", false);
        var good = new DocBlock("y.md", 10, "int c = 2;", "program", false);
        var compiled = new DocCompilation([good, bad]);
        Assert.That(compiled.ErrorsOf(good), Is.Empty);
        Assert.That(compiled.ErrorsOf(bad), Has.Some.StartsWith("x.md:41: CS0246"));
        compiled.Run(good, Path.GetTempPath());   // the blocks that compile still run
    }
}
