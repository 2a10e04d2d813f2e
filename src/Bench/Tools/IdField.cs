using System.Text.Json;

namespace PolledNvme.Bench.Tools;

/// <summary>
/// One field of an Identify page or log as nvme-cli prints it: its name, the value for JSON (a
/// number, a 128-bit number written as a decimal string, or a string: nvme-cli's types), the text
/// for the normal output and, for <c>-H</c>, the decoding printed after it.
/// </summary>
internal sealed record IdField(string Name, object Json, string Text, Action<TextWriter>? Human = null)
{
    /// <summary>The text label when it is not the padded name (nvme-cli prints <c>nsattr\t:</c>).</summary>
    public string? Label { get; init; }

    /// <summary>A number shown as C's <c>%#x</c>.</summary>
    public static IdField Hex(string name, ulong value, Action<TextWriter>? human = null) => new(name, value, CliText.Hex(value), human);

    /// <summary>A number shown in decimal.</summary>
    public static IdField Dec(string name, ulong value, Action<TextWriter>? human = null) => new(name, value, value.ToString(System.Globalization.CultureInfo.InvariantCulture), human);

    /// <summary>A 128-bit number: decimal in the text, a decimal string in JSON.</summary>
    public static IdField Wide(string name, UInt128 value, Action<TextWriter>? human = null) => new(name, value, value.ToString(System.Globalization.CultureInfo.InvariantCulture), human);

    /// <summary>A string (shown as it is).</summary>
    public static IdField Str(string name, string value) => new(name, value, value);

    /// <summary>Writes the fields as members of the current JSON object.</summary>
    public static void WriteJson(Utf8JsonWriter w, IEnumerable<IdField> fields)
    {
        foreach (var f in fields)
        {
            switch (f.Json)
            {
                case string s: w.WriteString(f.Name, s); break;
                case UInt128 wide: w.WriteString(f.Name, wide.ToString(System.Globalization.CultureInfo.InvariantCulture)); break;
                case ulong n: w.WriteNumber(f.Name, n); break;
                default: throw new InvalidOperationException($"field {f.Name}: no JSON form for {f.Json.GetType().Name}");
            }
        }
    }

    /// <summary>Writes <c>name : text</c> lines with the name padded to <paramref name="nameWidth"/>, and the <c>-H</c> decoding when <paramref name="human"/>.</summary>
    public static void WriteText(TextWriter o, IEnumerable<IdField> fields, int nameWidth, bool human)
    {
        foreach (var f in fields)
        {
            o.WriteLine($"{f.Label ?? f.Name.PadRight(nameWidth)}: {f.Text}");
            if (human)
                f.Human?.Invoke(o);
        }
    }
}
