using System.Text.RegularExpressions;

namespace PolledNvme.Tests.Docs;

/// <summary>
/// One <c>```csharp</c> block of a Markdown file: where it is, its code (the fence's indentation
/// removed), the template it runs in and whether it only compiles. The marker is an HTML
/// comment on the line before the fence: <c>&lt;!-- snippet: TEMPLATE[, compile-only] --&gt;</c>
/// (docs/LIBRARY.md, "Code blocks in this guide").
/// </summary>
public sealed record DocBlock(string File, int FirstCodeLine, string Code, string Template, bool CompileOnly)
{
    /// <summary>file:line of the first code line, as a test name and in failures.</summary>
    public override string ToString() => $"{File}:{FirstCodeLine}";
}

/// <summary>Finds the C# blocks of the documents the suite checks.</summary>
public static partial class DocBlocks
{
    /// <summary>The documents whose every C# block must compile and run (issue 14 §7).</summary>
    public static readonly string[] Documents = ["README.md", "docs/LIBRARY.md"];

    [GeneratedRegex(@"^\s*<!--\s*snippet:\s*(?<template>[\w-]+)\s*(?<only>,\s*compile-only\b[^>]*)?-->\s*$")]
    private static partial Regex Marker();

    /// <summary>The repository root: the nearest parent of the test assembly that holds PolledNvme.sln.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "PolledNvme.sln")))
                return dir.FullName;
        throw new InvalidOperationException($"No PolledNvme.sln above {AppContext.BaseDirectory}.");
    }

    /// <summary>Every C# block of every document, in order.</summary>
    public static IEnumerable<DocBlock> All()
    {
        string root = RepositoryRoot();
        foreach (string document in Documents)
            foreach (DocBlock block in Parse(document, System.IO.File.ReadAllLines(Path.Combine(root, document))))
                yield return block;
    }

    /// <summary>
    /// The C# blocks of <paramref name="lines"/>. A marker that names no block, or a block that
    /// never ends, is an error naming the line, so a typo cannot silently drop a block.
    /// </summary>
    public static IEnumerable<DocBlock> Parse(string file, string[] lines)
    {
        var blocks = new List<DocBlock>();
        for (int i = 0; i < lines.Length; i++)
        {
            string trimmed = lines[i].TrimStart();
            Match marker = Marker().Match(lines[i]);
            if (marker.Success && (i + 1 >= lines.Length || lines[i + 1].TrimStart() != "```csharp"))
                throw new FormatException($"{file}:{i + 1}: a snippet marker must be the line right before a ```csharp fence.");
            if (trimmed.StartsWith("```", StringComparison.Ordinal) && trimmed != "```csharp")
            {
                // Another language's block (shell, a layout): skip to its end, markers in it included.
                while (++i < lines.Length && lines[i].Trim() != "```")
                {
                }
                continue;
            }
            if (trimmed != "```csharp")
                continue;
            int indent = lines[i].Length - trimmed.Length;
            Match previous = i > 0 ? Marker().Match(lines[i - 1]) : Match.Empty;
            int end = i + 1;
            while (end < lines.Length && lines[end].Trim() != "```")
                end++;
            if (end == lines.Length)
                throw new FormatException($"{file}:{i + 1}: the ```csharp block is never closed.");
            string code = string.Join('\n', lines[(i + 1)..end].Select(l => l.Length >= indent && string.IsNullOrWhiteSpace(l[..indent]) ? l[indent..] : l.TrimStart()));
            blocks.Add(new DocBlock(file, i + 2, code,
                previous.Success ? previous.Groups["template"].Value : "program",
                previous.Success && previous.Groups["only"].Success));
            i = end;
        }
        return blocks;
    }
}
