using System.Globalization;

namespace PolledNvme.Bench.Report;

/// <summary>fio's number formatting for the text report (lib/num2str.c): at most <c>maxlen</c> digits, then k/M/G (or Ki/Mi/Gi).</summary>
public static class FioNumbers
{
    private static readonly string[] Si = ["", "k", "M", "G", "T", "P", "E"];
    private static readonly string[] Iec = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

    /// <summary>fio's num2str(num, maxlen, base 1, pow2, unit).</summary>
    public static string ToString(ulong num, int maxlen, bool pow2 = false, string unit = "")
    {
        uint thousand = pow2 ? 1024u : 1000u;
        string[] prefixes = pow2 ? Iec : Si;
        int post = 0;
        long modulo = -1;
        while (post < prefixes.Length)
        {
            if (num.ToString(CultureInfo.InvariantCulture).Length <= maxlen) break;
            modulo = (long)(num % thousand);
            num /= thousand;
            post++;
        }
        if (post >= prefixes.Length) post = 0;
        if (modulo < 0) return string.Create(CultureInfo.InvariantCulture, $"{num}{prefixes[post]}{unit}");
        int room = maxlen - num.ToString(CultureInfo.InvariantCulture).Length;
        if (room <= 1)
        {
            if (modulo >= thousand / 2) num++;
            return string.Create(CultureInfo.InvariantCulture, $"{num}{prefixes[post]}{unit}");
        }
        string fraction = ((double)modulo / thousand).ToString("F" + (room - 1), CultureInfo.InvariantCulture);
        if (fraction[0] == '1') num++;
        return string.Create(CultureInfo.InvariantCulture, $"{num}.{fraction[2..]}{prefixes[post]}{unit}");
    }
}
