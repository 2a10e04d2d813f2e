using System.Diagnostics;
using System.Text.Json;
using NUnit.Framework;
using PolledNvme.Bench.Report;
using PolledNvme.Tests.Scripts;

namespace PolledNvme.Tests.Bench;

/// <summary>
/// pnvme's reports against fio's own: the JSON structure key by key against a report fio 3.33
/// wrote for the same job file (tests/data, scripts/fio-reference-json.sh), and pnvme's json+
/// and logs read by the scripts of Debian's fio package (fio_jsonplus_clat2csv, fio2gnuplot,
/// fio_generate_plots with gnuplot). .ci/run installs fio, fio-examples and gnuplot-nox.
/// </summary>
[TestFixture]
public class FioToolsTests
{
    private static string DataDir => Path.Combine(ScriptRunner.RepoRoot, "tests", "data");

    [Test]
    public void Json_plus_has_fio_3_33_keys_types_and_nesting()
    {
        using var files = new TempFiles();
        string output = files.New(".json");
        var run = CliRunner.Run("bench", "--output-format=json+", $"--output={output}", "--progress=0", Path.Combine(DataDir, "fio-reference.fio"));
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        using var fio = JsonDocument.Parse(File.ReadAllText(Path.Combine(DataDir, "fio-3.33-reference.json")));
        using var pnvme = JsonDocument.Parse(File.ReadAllText(output));
        var differences = new List<string>();
        Compare(fio.RootElement, pnvme.RootElement, "", differences);
        Assert.That(differences, Is.Empty, "pnvme's json+ differs from fio 3.33's for the same job file");
        // The same job file: the same options, as typed.
        Assert.That(Pairs(pnvme.RootElement.GetProperty("global options")), Is.EqualTo(Pairs(fio.RootElement.GetProperty("global options"))));
        Assert.That(Pairs(pnvme.RootElement.GetProperty("jobs")[0].GetProperty("job options")),
            Is.EqualTo(Pairs(fio.RootElement.GetProperty("jobs")[0].GetProperty("job options"))));
    }

    private static string[] Pairs(JsonElement options) => options.EnumerateObject().Select(p => $"{p.Name}={p.Value.GetString()}").ToArray();

    // pnvme may add only its own objects; everything fio has must be there with the same JSON kind
    // (object, array, string, integer, float). Bins keys depend on the data: they must be fio bin values.
    private static readonly HashSet<string> PnvmeOnly = ["/pnvme", "/jobs[0]/pi", "/jobs[0]/pnvme"];

    private static void Compare(JsonElement fio, JsonElement pnvme, string path, List<string> differences)
    {
        if (Kind(fio) != Kind(pnvme))
        {
            differences.Add($"{path}: fio {Kind(fio)} {fio.GetRawText()}, pnvme {Kind(pnvme)} {pnvme.GetRawText()}");
            return;
        }
        if (fio.ValueKind == JsonValueKind.Object)
        {
            if (path.EndsWith("/bins", StringComparison.Ordinal))
            {
                foreach (var bin in pnvme.EnumerateObject())
                {
                    ulong value = ulong.Parse(bin.Name);
                    if (FioBins.IndexToValue(FioBins.ValueToIndex(value)) != value) differences.Add($"{path}: {bin.Name} is not a fio bin value");
                    if (bin.Value.ValueKind != JsonValueKind.Number) differences.Add($"{path}/{bin.Name}: not a count");
                }
                return;
            }
            var pnvmeNames = pnvme.EnumerateObject().Select(p => p.Name).ToHashSet();
            foreach (var property in fio.EnumerateObject())
            {
                if (!pnvme.TryGetProperty(property.Name, out var other)) differences.Add($"{path}/{property.Name}: missing");
                else Compare(property.Value, other, $"{path}/{property.Name}", differences);
                pnvmeNames.Remove(property.Name);
            }
            foreach (string extra in pnvmeNames)
                if (!PnvmeOnly.Contains($"{path}/{extra}")) differences.Add($"{path}/{extra}: not in fio's report");
        }
        else if (fio.ValueKind == JsonValueKind.Array)
        {
            if (fio.GetArrayLength() != pnvme.GetArrayLength()) differences.Add($"{path}: {fio.GetArrayLength()} entries in fio's, {pnvme.GetArrayLength()} in pnvme's");
            for (int i = 0; i < Math.Min(fio.GetArrayLength(), pnvme.GetArrayLength()); i++)
                Compare(fio[i], pnvme[i], $"{path}[{i}]", differences);
        }
    }

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Number => e.GetRawText().IndexOfAny(['.', 'e', 'E']) >= 0 ? "float" : "integer",
        var k => k.ToString(),
    };

    [Test]
    public void Fio_jsonplus_clat2csv_converts_and_validates_pnvme_json_plus()
    {
        RequireTool("fio_jsonplus_clat2csv");
        using var files = new TempFiles();
        string dir = Directory.CreateTempSubdirectory("pnvme-clat2csv-").FullName;
        try
        {
            string json = Path.Combine(dir, "out.json");
            var run = CliRunner.Run("bench", "--device=mem:size=16M", "--output-format=json+", $"--output={json}", "--progress=0",
                "--name=a", "--rw=randrw", "--runtime=300ms", "--lat_percentiles=1", "--slat_percentiles=1", "--iodepth=4",
                "--name=b", "--rw=read", "--runtime=300ms", "--iodepth=4");
            Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
            string csv = Path.Combine(dir, "lat.csv");
            var convert = Tool("fio_jsonplus_clat2csv", dir, json, csv);
            Assert.That(convert.ExitCode, Is.EqualTo(0), convert.ToString());
            var validate = Tool("fio_jsonplus_clat2csv", dir, json, csv, "--validate");
            Assert.That(validate.ExitCode, Is.EqualTo(0), validate.ToString());
            Assert.That(validate.Stdout, Does.Contain("lat_job0.csv validated").And.Contain("lat_job1.csv validated"));
            // The last row's cumulative count of read clat is every read the job completed.
            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            long reads = doc.RootElement.GetProperty("jobs")[0].GetProperty("read").GetProperty("clat_ns").GetProperty("N").GetInt64();
            string[] header = File.ReadLines(Path.Combine(dir, "lat_job0.csv")).First().Split(',').Select(c => c.Trim()).ToArray();
            int column = Array.IndexOf(header, "read_clat_ns_cumulative");
            long last = File.ReadLines(Path.Combine(dir, "lat_job0.csv")).Skip(1).Select(l => l.Split(',')).Where(c => c.Length > column && c[column].Trim().Length > 0)
                .Select(c => long.Parse(c[column].Trim())).Max();
            Assert.That(last, Is.EqualTo(reads));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void Fio2gnuplot_and_fio_generate_plots_read_pnvme_logs()
    {
        RequireTool("fio2gnuplot");
        RequireTool("fio_generate_plots");
        RequireTool("gnuplot");
        string dir = Directory.CreateTempSubdirectory("pnvme-logs-").FullName;
        try
        {
            string prefix = Path.Combine(dir, "job");
            var run = CliRunner.Run("bench", "--device=mem:size=16M", "--rw=randrw", "--runtime=1500ms", "--progress=0", "--iodepth=4",
                $"--write_lat_log={prefix}", $"--write_bw_log={prefix}", $"--write_iops_log={prefix}", "--log_avg_msec=100");
            Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
            foreach (string kind in new[] { "lat", "clat", "slat", "bw", "iops" })
                Assert.That(File.ReadAllLines(Path.Combine(dir, $"job_{kind}.1.log")), Is.Not.Empty, kind);

            foreach (string mode in new[] { "-b", "-i" })
            {
                var gnuplot = Tool("fio2gnuplot", dir, mode, "-k");
                Assert.That(gnuplot.ExitCode, Is.EqualTo(0), gnuplot.ToString());
                var global = File.ReadAllLines(Path.Combine(dir, "result.global")).ToDictionary(l => l.Split('=')[0], l => l.Split('=')[1]);
                Assert.That(int.Parse(global["values_count"]), Is.GreaterThan(0), mode);
                Assert.That(double.Parse(global["avg"], System.Globalization.CultureInfo.InvariantCulture), Is.GreaterThan(0), mode);
            }

            var plots = Tool("fio_generate_plots", dir, "pnvme");
            Assert.That(plots.ExitCode, Is.EqualTo(0), plots.ToString());
            Assert.That(plots.All, Does.Not.Contain("no valid points").And.Not.Contain("No log files found"));
            foreach (string kind in new[] { "lat", "clat", "slat", "bw", "iops" })
                Assert.That(File.Exists(Path.Combine(dir, $"pnvme-{kind}.svg")), kind);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void RequireTool(string name)
    {
        if (!File.Exists($"/usr/bin/{name}"))
            Assert.Ignore($"{name} is not installed; install the Debian packages fio fio-examples gnuplot-nox (.ci/run does).");
    }

    internal static ScriptRunner.Result Tool(string name, string workingDirectory, params string[] args)
    {
        var psi = new ProcessStartInfo(name) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(120_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{name} {string.Join(' ', args)} did not finish in 120 s.");
        }
        return new ScriptRunner.Result(process.ExitCode, stdout.Result, stderr.Result);
    }
}
