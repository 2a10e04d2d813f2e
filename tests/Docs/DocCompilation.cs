using System.Reflection;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace PolledNvme.Tests.Docs;

/// <summary>
/// Compiles every documentation block in one Roslyn compilation against the assemblies the
/// test runs with (the built libraries among them). Each block becomes
/// <c>DocBlockN.Snippet.Run(string directory)</c>: its type declarations at namespace level,
/// its statements after its template's prelude; <c>#line</c> directives map every line back to
/// the document, so an error names the document's file and line.
/// </summary>
public sealed class DocCompilation
{
    private readonly Dictionary<DocBlock, List<string>> _errors = [];
    private readonly Dictionary<DocBlock, int> _index = [];
    private readonly Assembly? _assembly;

    /// <summary>The blocks, compiled.</summary>
    public IReadOnlyList<DocBlock> Blocks { get; }

    /// <summary>
    /// Compiles <paramref name="blocks"/> in one compilation; when some do not compile, the
    /// others are compiled again without them, so that they still run.
    /// </summary>
    public DocCompilation(IReadOnlyList<DocBlock> blocks)
    {
        Blocks = blocks;
        for (int i = 0; i < blocks.Count; i++)
        {
            _index[blocks[i]] = i;
            _errors[blocks[i]] = [];
        }
        _assembly = Compile(blocks, recordErrors: true);
        if (_assembly is null)
        {
            var good = blocks.Where(b => _errors[b].Count == 0).ToList();
            if (good.Count > 0)
                _assembly = Compile(good, recordErrors: false);
        }
    }

    private Assembly? Compile(IReadOnlyList<DocBlock> blocks, bool recordErrors)
    {
        var source = new StringBuilder("#nullable enable\n");
        var spans = new List<(int Start, int End, DocBlock Block)>();
        foreach (DocBlock block in blocks)
        {
            int start = source.Length;
            Append(source, _index[block], block);
            spans.Add((start, source.Length, block));
        }
        SyntaxTree tree = CSharpSyntaxTree.ParseText(source.ToString(), new CSharpParseOptions(LanguageVersion.Latest), path: "docs-blocks.cs");
        var compilation = CSharpCompilation.Create("PolledNvme.DocBlocks" + (recordErrors ? "" : ".Compiling"), [tree], References(),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));
        using var image = new MemoryStream();
        var result = compilation.Emit(image);
        if (recordErrors)
        {
            foreach (Diagnostic d in result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error))
            {
                FileLinePositionSpan at = d.Location.GetMappedLineSpan();
                string text = $"{at.Path}:{at.StartLinePosition.Line + 1}: {d.Id}: {d.GetMessage()}";
                int position = d.Location.SourceSpan.Start;
                var owner = spans.FirstOrDefault(s => position >= s.Start && position < s.End);
                foreach (DocBlock b in owner.Block is not null ? [owner.Block] : blocks)
                    _errors[b].Add(text);
            }
        }
        return result.Success ? Assembly.Load(image.ToArray()) : null;
    }

    /// <summary>The compile errors of <paramref name="block"/>, each as "file:line: CSnnnn: message".</summary>
    public IReadOnlyList<string> ErrorsOf(DocBlock block) => _errors[block];

    /// <summary>Runs <paramref name="block"/> with a fresh temporary <c>directory</c>.</summary>
    public void Run(DocBlock block, string directory)
    {
        if (_assembly is null)
            throw new InvalidOperationException($"{block}: the blocks could not be compiled (see the errors of the failing blocks).");
        MethodInfo run = _assembly.GetType($"DocBlock{_index[block]}.Snippet")!.GetMethod("Run")!;
        object? returned;
        try
        {
            returned = run.Invoke(null, [directory]);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
        if (returned is Task task && !task.Wait(TimeSpan.FromMinutes(2)))
            throw new TimeoutException($"{block}: the block's task did not complete (does it await without anything polling?).");
        (returned as Task)?.GetAwaiter().GetResult();
    }

    private static void Append(StringBuilder source, int index, DocBlock block)
    {
        var unit = (CompilationUnitSyntax)CSharpSyntaxTree.ParseText(block.Code, new CSharpParseOptions(LanguageVersion.Latest)).GetRoot();
        if (!DocTemplates.All.TryGetValue(block.Template, out var template))
            throw new FormatException($"{block}: unknown snippet template '{block.Template}' (known: {string.Join(", ", DocTemplates.All.Keys)}).");
        bool isAsync = unit.DescendantTokens().Any(t => t.IsKind(SyntaxKind.AwaitKeyword));
        source.Append($"namespace DocBlock{index}\n{{\n{DocTemplates.Usings}\n{template.Usings}\n");
        foreach (UsingDirectiveSyntax u in unit.Usings)
            AppendMapped(source, block, u);
        foreach (MemberDeclarationSyntax m in unit.Members.Where(m => m is not GlobalStatementSyntax))
            AppendMapped(source, block, m);
        source.Append("#line default\npublic static class Snippet\n{\n");
        source.Append(isAsync ? "public static async Task Run(string directory)\n{\n" : "public static void Run(string directory)\n{\n");
        source.Append(template.Prelude).Append('\n');
        foreach (GlobalStatementSyntax s in unit.Members.OfType<GlobalStatementSyntax>())
            AppendMapped(source, block, s);
        source.Append("#line default\n}\n}\n}\n");
    }

    private static void AppendMapped(StringBuilder source, DocBlock block, SyntaxNode node)
    {
        int line = node.GetLocation().GetLineSpan().StartLinePosition.Line;
        source.Append($"#line {block.FirstCodeLine + line} \"{block.File}\"\n");
        source.Append(node.ToString()).Append('\n');   // no trivia: the #line above maps its first line
    }

    private static IEnumerable<MetadataReference> References()
        => ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => p.Length > 0)
            .Select(p => MetadataReference.CreateFromFile(p));
}
