using System.Globalization;
using System.Numerics;

namespace PolledNvme.Bench.Tools;

/// <summary>
/// nvme-cli's text conventions in one place: C's <c>%#x</c> (<c>0</c> for zero, else
/// <c>0x..</c>), kelvin shown with °C, 128-bit counters as decimal, SI sizes (<c>1.02 GB</c>),
/// hex dumps like its <c>d()</c> and the <c>-H</c> bit-field lines <c>  [hi:lo] : 0x1\tmeaning</c>.
/// </summary>
internal static class CliText
{
    /// <summary>C's <c>%#x</c>.</summary>
    public static string Hex(ulong value) => value == 0 ? "0" : "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    /// <summary>C's <c>%#x</c> of a 128-bit value.</summary>
    public static string Hex(UInt128 value) => value == 0 ? "0" : "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    /// <summary><c>40°C (313 Kelvin)</c>.</summary>
    public static string Kelvin(int kelvin) => $"{kelvin - 273}°C ({kelvin} Kelvin)";

    /// <summary>A byte count with an SI prefix and two decimals, e.g. <c>1.02 GB</c> (exact: 128-bit counters overflow a double's digits).</summary>
    public static string SiBytes(UInt128 units, uint bytesPerUnit)
    {
        var bytes = (BigInteger)units * bytesPerUnit;
        string[] prefixes = ["", "k", "M", "G", "T", "P", "E", "Z", "Y", "R", "Q"];
        int k = prefixes.Length - 1;
        while (k > 0 && bytes < BigInteger.Pow(1000, k))
            k--;
        BigInteger scale = BigInteger.Pow(1000, k);
        BigInteger hundredths = (bytes * 100 + scale / 2) / scale;
        return $"{hundredths / 100}.{hundredths % 100:D2} {prefixes[k]}B";
    }

    /// <summary>Hex dump as nvme-cli prints a log page or a feature buffer: a header, 16 bytes a row, then the printable characters.</summary>
    public static void HexDump(TextWriter o, ReadOnlySpan<byte> data)
    {
        const int width = 16;
        o.Write("     ");
        for (int i = 0; i < width; i++)
            o.Write($"{i,3:x}");
        for (int row = 0; row < data.Length; row += width)
        {
            ReadOnlySpan<byte> line = data.Slice(row, Math.Min(width, data.Length - row));
            o.Write($"\n{row:x4}:");
            foreach (byte b in line)
                o.Write($" {b:x2}");
            // nvme-cli pads a short last row with one space more than the missing bytes take.
            if (line.Length < width)
                o.Write(new string(' ', 3 * (width - line.Length) + 1));
            o.Write(" \"");
            foreach (byte b in line)
                o.Write(b is >= (byte)'!' and <= (byte)'~' ? (char)b : '.');
            o.Write('"');
        }
        o.WriteLine();
    }

    /// <summary>The <c>-H</c> decoding of one field: one line per bit range, then a blank line.</summary>
    public static void Bits(TextWriter o, ulong value, params Bit[] bits)
    {
        foreach (var bit in bits)
        {
            ulong v = (value >> bit.Lo) & (bit.Hi - bit.Lo >= 63 ? ulong.MaxValue : (1UL << (bit.Hi - bit.Lo + 1)) - 1);
            if (bit.Meaning is null && v == 0)
                continue;   // reserved bits are shown only when set
            o.WriteLine($"  [{bit.Hi}:{bit.Lo}] : {Hex(v)}\t{bit.Meaning?.Invoke(v) ?? "Reserved"}");
        }
        o.WriteLine();
    }
}

/// <summary>One bit range of a <c>-H</c> decoding; a null meaning marks reserved bits.</summary>
internal readonly record struct Bit(int Hi, int Lo, Func<ulong, string>? Meaning)
{
    /// <summary>A one-bit capability: "NAME Supported" / "NAME Not Supported".</summary>
    public static Bit Flag(int bit, string name) => new(bit, bit, v => v != 0 ? $"{name} Supported" : $"{name} Not Supported");

    /// <summary>A one-bit setting with its two meanings.</summary>
    public static Bit Choice(int bit, string whenSet, string whenClear) => new(bit, bit, v => v != 0 ? whenSet : whenClear);

    /// <summary>A multi-bit value with its name.</summary>
    public static Bit Field(int hi, int lo, string name) => new(hi, lo, _ => name);

    /// <summary>A multi-bit value whose meaning depends on it.</summary>
    public static Bit Text(int hi, int lo, Func<ulong, string> meaning) => new(hi, lo, meaning);

    /// <summary>Reserved bits: shown only when set.</summary>
    public static Bit Reserved(int hi, int lo) => new(hi, lo, null);
}
