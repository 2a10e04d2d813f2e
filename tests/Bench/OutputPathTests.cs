using System.IO.Hashing;
using System.Runtime.InteropServices;
using NUnit.Framework;

namespace PolledNvme.Tests.Bench;

/// <summary>
/// Outputs (<c>--output</c>, <c>--plot</c>, <c>read --data/--metadata</c>) that name the
/// device's image or its format record, however spelled (the same path, a symlink, a relative
/// path, a hard link), are refused before any I/O, and the image is left as it was. Before,
/// the output truncated the image.
/// </summary>
[TestFixture]
public partial class OutputPathTests
{
    private string _dir = null!;
    private string _image = null!;
    private string _device = null!;

    [SetUp]
    public void CreateImage()
    {
        _dir = Directory.CreateTempSubdirectory("pnvme-outputs-").FullName;
        _image = Path.Combine(_dir, "ns.img");
        _device = $"emu:{_image},lbads=4096,ms=8,pi=1,size=1M";
        var write = CliRunner.Run("bench", $"--device={_device}", "--rw=write", "--size=256k", "--progress=0", "--pin=0");
        Assert.That(write.ExitCode, Is.EqualTo(0), write.Stderr);
    }

    [TearDown]
    public void DeleteImage() => Directory.Delete(_dir, recursive: true);

    private ulong Hash() => XxHash3.HashToUInt64([.. File.ReadAllBytes(_image), .. File.ReadAllBytes(_image + ".pnvmefmt")]);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int link(string existing, string created);

    private IEnumerable<(string Name, string Path)> SpellingsOf(string target)
    {
        yield return ("the path", target);
        string symlink = Path.Combine(_dir, "alias-" + Path.GetFileName(target) + ".png");
        File.CreateSymbolicLink(symlink, target);
        yield return ("a symlink", symlink);
        yield return ("a relative path", Path.GetRelativePath(Environment.CurrentDirectory, target));
        yield return ("./ and ..", Path.Combine(_dir, ".", "sub", "..", Path.GetFileName(target)));
        string hardLink = Path.Combine(_dir, "hard-" + Path.GetFileName(target) + ".svg");
        Assert.That(link(target, hardLink), Is.EqualTo(0), "link(2)");
        yield return ("a hard link", hardLink);
    }

    private void AssertRefused(CliRunner.Outcome run, string flag, string what, ulong before)
    {
        Assert.That(run.ExitCode, Is.EqualTo(2), $"{what}: {run.Stderr}");
        Assert.That(run.Stderr, Does.Contain($"{flag}: ").And.Contain("destroy the device's data"), what);
        Assert.That(run.Stdout, Is.Empty, $"{what}: refused before the run");
        Assert.That(Hash(), Is.EqualTo(before), $"{what}: the image and its record are unchanged");
    }

    [Test]
    public void Bench_output_naming_the_image_is_refused()
    {
        ulong before = Hash();
        foreach (var (name, path) in SpellingsOf(_image))
            AssertRefused(CliRunner.Run("bench", $"--device={_device}", "--rw=read", "--runtime=10ms", "--progress=0", $"--output={path}"), "--output", name, before);
    }

    [Test]
    public void Bench_output_naming_the_format_record_is_refused()
    {
        ulong before = Hash();
        foreach (var (name, path) in SpellingsOf(_image + ".pnvmefmt"))
        {
            var run = CliRunner.Run("bench", $"--device={_device}", "--rw=read", "--runtime=10ms", "--progress=0", $"--output={path}");
            AssertRefused(run, "--output", name, before);
            Assert.That(run.Stderr, Does.Contain("format record"));
        }
    }

    [Test]
    public void Bench_plot_naming_the_image_is_refused()
    {
        ulong before = Hash();
        foreach (var (name, path) in SpellingsOf(_image).Where(s => s.Path.EndsWith(".png") || s.Path.EndsWith(".svg")))
            AssertRefused(CliRunner.Run("bench", $"--device={_device}", "--rw=read", "--runtime=10ms", "--progress=0", $"--plot={path}"), "--plot", name, before);
    }

    [Test]
    public void Image_named_by_its_path_alone_is_protected_too()
    {
        // emu:PATH alone reopens the recorded format: the image is still the device's.
        ulong before = Hash();
        AssertRefused(CliRunner.Run("bench", $"--device=emu:{_image}", "--rw=read", "--runtime=10ms", "--progress=0", $"--output={_image}"), "--output", "path alone", before);
    }

    [Test]
    public void Read_data_or_metadata_naming_the_image_or_its_record_is_refused()
    {
        ulong before = Hash();
        string other = Path.Combine(_dir, "out.bin");
        foreach (var (name, path) in SpellingsOf(_image))
            AssertRefused(CliRunner.Run("read", $"--device={_device}", "-s", "0", "-d", path, "-M", other), "--data", name, before);
        foreach (var (name, path) in SpellingsOf(_image + ".pnvmefmt"))
            AssertRefused(CliRunner.Run("read", $"--device={_device}", "-s", "0", "-d", other, "-M", path), "--metadata", name, before);
    }

    [Test]
    public void Uring_file_is_protected_from_the_report()
    {
        string file = Path.Combine(_dir, "kernel.bin");
        File.WriteAllBytes(file, new byte[64 << 10]);
        var run = CliRunner.Run("bench", $"--device=uring:{file}", "--rw=read", "--runtime=10ms", "--progress=0", $"--output={file}");
        Assert.That(run.ExitCode, Is.EqualTo(2), run.Stderr);
        Assert.That(run.Stderr, Does.Contain("--output: ").And.Contain("the device's image"));
        Assert.That(new FileInfo(file).Length, Is.EqualTo(64 << 10));
    }

    [Test]
    public void Output_and_plot_in_one_file_are_refused()
    {
        string path = Path.Combine(_dir, "both.png");
        var run = CliRunner.Run("bench", "--device=mem:size=1M", "--runtime=10ms", "--progress=0", $"--output={path}", $"--plot={path}");
        Assert.That(run.ExitCode, Is.EqualTo(2), run.Stderr);
        Assert.That(run.Stderr, Does.Contain("--plot: ").And.Contain("is also the --output file"));
        Assert.That(File.Exists(path), Is.False, "the check writes nothing");
    }

    [Test]
    public void A_good_output_is_written_and_an_existing_one_is_replaced()
    {
        string path = Path.Combine(_dir, "report.txt");
        File.WriteAllText(path, new string('x', 100_000));
        var run = CliRunner.Run("bench", "--device=mem:size=1M", "--runtime=50ms", "--progress=0", "--pin=0", $"--output={path}");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        string report = File.ReadAllText(path);
        Assert.That(report, Does.StartWith("pnvme: (g=0)").And.Contain("errors: none"));
        Assert.That(report, Does.Not.Contain("xxxx"), "the old content is gone, not overwritten in part");
    }
}
