using System.Globalization;
using System.Text;

namespace PolledNvme.Bench.Options;

/// <summary>One <c>name=value</c> (or bare <c>name</c>) line of a job file, and where it came from.</summary>
public sealed record JobFileOption(string Name, string? Value, string Location);

/// <summary>A <c>[section]</c> of a job file: a job, or <c>[global]</c> defaults for the jobs below it.</summary>
public sealed record JobFileSection(string Name, bool IsGlobal, IReadOnlyList<JobFileOption> Options, string Location);

/// <summary>
/// fio's job file format: an ini file of <c>[job]</c> sections (a section whose name starts with
/// <c>global</c> holds defaults for the sections after it), <c>;</c> and <c>#</c> comments (also at
/// the end of a line, as fio strips them), <c>include FILE</c> (relative to the including file,
/// no sections inside), <c>${VAR}</c> replaced by the environment (empty when unset) and the
/// keywords <c>$pagesize</c>, <c>$mb_memory</c>, <c>$ncpus</c> with simple integer math.
/// <c>-</c> reads the job file from stdin.
/// </summary>
public static class JobFile
{
    /// <summary>Reads and parses <paramref name="path"/>.</summary>
    /// <exception cref="UsageException">The file cannot be read or has an error; the message names file and line.</exception>
    public static IReadOnlyList<JobFileSection> Parse(string path, Func<string, string?> environment, TextReader? stdin = null)
    {
        var sections = new List<JobFileSection>();
        string? name = null;
        bool global = false;
        string sectionLocation = "";
        var options = new List<JobFileOption>();
        foreach (var (text, location) in Lines(path, environment, stdin, nested: false, depth: 0))
        {
            if (text.StartsWith('['))
            {
                if (name is not null) sections.Add(new JobFileSection(name, global, options.ToArray(), sectionLocation));
                int close = text.IndexOf(']');
                if (close < 2) throw new UsageException(location, $"'{text}' is not a [section] header");
                name = text[1..close].Trim();
                if (name.Length == 0) throw new UsageException(location, "a section needs a name");
                global = name.StartsWith("global", StringComparison.Ordinal);   // fio compares the first 6 characters
                sectionLocation = location;
                options.Clear();
                continue;
            }
            if (name is null)
                throw new UsageException(location, $"option '{text}' is outside of a [] job section");
            options.Add(SplitOption(text, location, environment));
        }
        if (name is not null) sections.Add(new JobFileSection(name, global, options.ToArray(), sectionLocation));
        return sections;
    }

    /// <summary>Splits <c>name=value</c>; expands <c>${VAR}</c> and fio's keywords in the value.</summary>
    public static JobFileOption SplitOption(string text, string location, Func<string, string?> environment)
    {
        int eq = text.IndexOf('=');
        string name = (eq < 0 ? text : text[..eq]).Trim();
        string? value = eq < 0 ? null : ExpandKeywords(ExpandEnvironment(text[(eq + 1)..], environment), location).Trim();
        if (name.Length == 0) throw new UsageException(location, $"'{text}' has no option name");
        return new JobFileOption(name, value, location);
    }

    private static IEnumerable<(string Text, string Location)> Lines(string path, Func<string, string?> environment, TextReader? stdin, bool nested, int depth)
    {
        if (depth > 16) throw new UsageException(path, "include files nest more than 16 deep (an include loop?)");
        if (path.Contains('\0')) throw new UsageException(path.Replace("\0", "\\0", StringComparison.Ordinal), "a job file name cannot contain a NUL character");
        string[] lines;
        try
        {
            lines = path == "-"
                ? (stdin ?? new StreamReader(Tools.ToolConsole.Current.OpenInput())).ReadToEnd().Split('\n')
                : File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException(path, $"cannot read the job file: {e.Message}");
        }
        string shown = path == "-" ? "<stdin>" : path;
        for (int i = 0; i < lines.Length; i++)
        {
            string location = $"{shown}:{i + 1}";
            string text = StripComment(lines[i]).Trim();
            if (text.Length == 0) continue;
            if (text.StartsWith('[') && nested)
                throw new UsageException(location, "include files may not contain [] sections");
            if (text.StartsWith("include", StringComparison.Ordinal) && (text.Length == 7 || char.IsWhiteSpace(text[7])))
            {
                string included = text[7..].Trim();
                if (included.Length == 0) throw new UsageException(location, "include needs a file name");
                // fio: a relative include that does not exist from the working directory is looked up beside the including file.
                if (!File.Exists(included) && path != "-" && Path.GetDirectoryName(path) is { Length: > 0 } dir)
                    included = Path.Combine(dir, included);
                foreach (var line in Lines(included, environment, stdin, nested: true, depth + 1))
                    yield return line;
                continue;
            }
            yield return (text, location);
        }
    }

    // fio's strip_blank_end: everything from the first ';' or '#' on a line is a comment.
    private static string StripComment(string line)
    {
        int cut = line.IndexOfAny([';', '#']);
        return cut < 0 ? line : line[..cut];
    }

    /// <summary>fio's <c>${VAR}</c> expansion: the variable's value, or nothing when it is unset.</summary>
    public static string ExpandEnvironment(string text, Func<string, string?> environment)
    {
        var sb = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == '$' && i + 1 < text.Length && text[i + 1] == '{')
            {
                int close = text.IndexOf('}', i + 2);
                if (close > i + 2)
                {
                    sb.Append(environment(text[(i + 2)..close]));
                    i = close;
                    continue;
                }
            }
            sb.Append(text[i]);
        }
        return sb.ToString();
    }

    /// <summary>
    /// fio's reserved keywords (<c>$pagesize</c>, <c>$mb_memory</c>, <c>$ncpus</c>); when one was
    /// replaced and the value has + - * /, it is evaluated as integer math (fio runs bc).
    /// </summary>
    public static string ExpandKeywords(string text, string location)
    {
        if (!text.Contains('$')) return text;
        string replaced = text
            .Replace("$pagesize", Environment.SystemPageSize.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("$mb_memory", (GC.GetGCMemoryInfo().TotalAvailableMemoryBytes >> 20).ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("$ncpus", Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        if (replaced == text || replaced.IndexOfAny(['+', '-', '*', '/']) < 0) return replaced;
        return IntegerMath.Evaluate(replaced.Trim(), location).ToString(CultureInfo.InvariantCulture);
    }
}

/// <summary>Integer + - * / with parentheses, for fio's keyword arithmetic.</summary>
internal static class IntegerMath
{
    public static long Evaluate(string text, string location)
    {
        int pos = 0;
        long value = Sum(text, ref pos, location);
        Skip(text, ref pos);
        if (pos != text.Length) throw new UsageException(location, $"'{text}' is not integer arithmetic");
        return value;
    }

    private static long Sum(string t, ref int pos, string location)
    {
        long value = Product(t, ref pos, location);
        while (true)
        {
            Skip(t, ref pos);
            if (pos < t.Length && t[pos] is '+' or '-')
            {
                char op = t[pos++];
                long right = Product(t, ref pos, location);
                value = op == '+' ? value + right : value - right;
            }
            else return value;
        }
    }

    private static long Product(string t, ref int pos, string location)
    {
        long value = Atom(t, ref pos, location);
        while (true)
        {
            Skip(t, ref pos);
            if (pos < t.Length && t[pos] is '*' or '/')
            {
                char op = t[pos++];
                long right = Atom(t, ref pos, location);
                if (op == '/' && right == 0) throw new UsageException(location, $"'{t}' divides by zero");
                value = op == '*' ? value * right : value / right;
            }
            else return value;
        }
    }

    private static long Atom(string t, ref int pos, string location)
    {
        Skip(t, ref pos);
        if (pos < t.Length && t[pos] == '(')
        {
            pos++;
            long inner = Sum(t, ref pos, location);
            Skip(t, ref pos);
            if (pos >= t.Length || t[pos] != ')') throw new UsageException(location, $"'{t}': missing ')'");
            pos++;
            return inner;
        }
        int start = pos;
        while (pos < t.Length && char.IsDigit(t[pos])) pos++;
        if (start == pos) throw new UsageException(location, $"'{t}' is not integer arithmetic");
        return long.Parse(t.AsSpan(start, pos - start), CultureInfo.InvariantCulture);
    }

    private static void Skip(string t, ref int pos)
    {
        while (pos < t.Length && char.IsWhiteSpace(t[pos])) pos++;
    }
}
