using System.IO.Hashing;
using NUnit.Framework;

namespace PolledNvme.Tests.Bench;

/// <summary>
/// Issue 10 §4's guarantees for what issue 15 added to <c>pnvme bench</c>: job files and fio's
/// flags go through the same up-front checks as <c>--device</c> and <c>--output</c> (one line,
/// exit 2, the job file's file, line and option named, before any I/O), fio's log files never
/// overwrite an image, <c>ro=1</c> and <c>null:</c> refuse what they cannot do, nothing is laid
/// out or created before every job has been checked, and a signal stops a job-file run too.
/// </summary>
[TestFixture]
public partial class JobFileTrustTests
{
    private string _dir = null!;

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("pnvme-jobtrust-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    private string JobFile(string text)
    {
        string path = Path.Combine(_dir, $"job-{Guid.NewGuid():N}.fio");
        File.WriteAllText(path, text);
        return path;
    }

    private string Image()
    {
        string image = Path.Combine(_dir, "ns.img");
        var layout = CliRunner.Run("bench", $"--device=emu:{image},lbads=4096,size=4M", "--rw=write", "--size=256k", "--progress=0", "--pin=0");
        Assert.That(layout.ExitCode, Is.EqualTo(0), layout.Stderr);
        return image;
    }

    private static ulong Hash(string path) => XxHash3.HashToUInt64(File.ReadAllBytes(path));

    private static void AssertUsage(CliRunner.Outcome run, string contains)
    {
        Assert.That(run.ExitCode, Is.EqualTo(2), run.Stderr);
        Assert.That(run.Stderr, Does.Contain(contains));
        Assert.That(run.Stderr.TrimEnd().Split('\n'), Has.Length.EqualTo(1), $"one line: {run.Stderr}");
        Assert.That(run.Stdout, Is.Empty, "refused before the header: nothing ran");
        CliRunner.AssertNoStackTrace(run.Stderr);
    }

    [Test]
    public void A_job_files_bad_device_names_file_line_and_option()
    {
        string job = JobFile($"[global]\nruntime=100ms\n[a]\ndevice=emu:{_dir}\n");
        AssertUsage(CliRunner.Run("bench", job), $"job 'a' ({job}:3): {job}:4: device: ");
        string file = JobFile($"[a]\nruntime=100ms\nfilename={_dir}\n");
        AssertUsage(CliRunner.Run("bench", file), $"{file}:3: filename: uring: '{_dir}' is a directory");
        string key = JobFile("[a]\nruntime=100ms\ndevice=mem:size=1M,bogus=1\n");
        AssertUsage(CliRunner.Run("bench", key), $"{key}:3: device: ");
    }

    [Test]
    public void A_check_against_the_device_names_the_line_that_set_the_option()
    {
        // bs=3 parses; that it is not a multiple of the 512-byte block is known only from the device.
        string job = JobFile("[global]\ndevice=mem:lbads=512,size=1M\nruntime=100ms\n[a]\nrw=read\nbs=1000\n");
        AssertUsage(CliRunner.Run("bench", job), $"{job}:6: bs: 1000 is not a multiple of the namespace's 512-byte logical block");
    }

    [Test]
    public void Verify_on_null_is_refused_in_a_job_file()
    {
        string job = JobFile("[a]\ndevice=null:size=4M\nrw=write\nverify=pattern\nruntime=100ms\n");
        AssertUsage(CliRunner.Run("bench", job), $"{job}:4: verify: the device keeps no data");
        string engine = JobFile("[a]\nioengine=null\nsize=1m\nrw=randrw\nverify\n");
        AssertUsage(CliRunner.Run("bench", engine), $"{engine}:5: verify: the device keeps no data");
    }

    [TestCase("randwrite", "writes (rw=randwrite)")]
    [TestCase("randtrim", "trims (rw=randtrim)")]
    [TestCase("trimwrite", "writes (rw=trimwrite)")]
    public void Ro_1_refuses_jobs_that_write_or_trim_up_front(string rw, string says)
    {
        string image = Image();
        ulong before = Hash(image);
        string job = JobFile($"[global]\ndevice=emu:{image},ro=1\nruntime=100ms\n[reader]\nrw=randread\n[changer]\nrw={rw}\n");
        AssertUsage(CliRunner.Run("bench", job), $"job 'changer' ({job}:6): {job}:7: rw: the namespace is write protected (ro=1), and this run {says}");
        Assert.That(Hash(image), Is.EqualTo(before));
        var read = CliRunner.Run("bench", "--progress=0", "--output-format=json", JobFile($"[reader]\ndevice=emu:{image},ro=1\nrw=randread\nruntime=100ms\n"));
        Assert.That(read.ExitCode, Is.EqualTo(0), read.Stderr);
    }

    [TestCase("write_lat_log", "lat")]
    [TestCase("write_lat_log", "clat")]
    [TestCase("write_bw_log", "bw")]
    [TestCase("write_iops_log", "iops")]
    public void A_log_whose_name_is_the_image_is_refused_and_the_image_kept(string option, string kind)
    {
        string image = Image();
        ulong before = Hash(image);
        // fio names the log PREFIX_KIND.N.log: here a symlink to the image, of any device (mem: runs).
        File.CreateSymbolicLink(Path.Combine(_dir, $"trap_{kind}.1.log"), image);
        string prefix = Path.Combine(_dir, "trap");
        AssertUsage(CliRunner.Run("bench", "--device=mem:size=1M", "--runtime=100ms", "--progress=0", $"--{option}={prefix}"),
            $"--{option}: log file '{prefix}_{kind}.1.log' is an emulated namespace's image");
        string job = JobFile($"[a]\ndevice=mem:size=1M\nruntime=100ms\n{option}={prefix}\n");
        AssertUsage(CliRunner.Run("bench", job), $"{job}:4: {option}: log file '{prefix}_{kind}.1.log' is an emulated namespace's image");
        // The second clone's logs are .2.: its job number counts across the run's jobs.
        File.CreateSymbolicLink(Path.Combine(_dir, $"clone_{kind}.2.log"), image);
        string clones = JobFile($"[a]\ndevice=mem:size=1M\nruntime=100ms\nnumjobs=2\n{option}={Path.Combine(_dir, "clone")}\n");
        AssertUsage(CliRunner.Run("bench", clones), $"{clones}:5: {option}: log file '{Path.Combine(_dir, "clone")}_{kind}.2.log' is an emulated namespace's image");
        Assert.That(Hash(image), Is.EqualTo(before));
    }

    [Test]
    public void Logs_named_after_a_job_cannot_overwrite_the_image_in_the_working_directory()
    {
        // write_lat_log without a name: NAME_lat.1.log in the working directory. The device's image is called that.
        string image = Path.Combine(_dir, "job_lat.1.log");
        var layout = CliRunner.Run("bench", $"--device=emu:{image},size=4M", "--rw=write", "--size=64k", "--progress=0", "--pin=0");
        Assert.That(layout.ExitCode, Is.EqualTo(0), layout.Stderr);
        ulong before = Hash(image);
        var run = CliRunner.RunProcess(["bench", "--device=emu:job_lat.1.log", "--name=job", "--write_lat_log=", "--runtime=100ms", "--progress=0"],
            prefix: ["env", $"--chdir={_dir}"], timeout: TimeSpan.FromMinutes(1));
        AssertUsage(run, "--write_lat_log: log file 'job_lat.1.log' is the device's image");
        Assert.That(Hash(image), Is.EqualTo(before));
    }

    [Test]
    public void Json_plus_to_the_image_is_refused()
    {
        string image = Image();
        ulong before = Hash(image);
        AssertUsage(CliRunner.Run("bench", $"--device=emu:{image}", "--runtime=100ms", "--output-format=json+", $"--output={image}"),
            $"--output: '{image}' is the device's image");
        string job = JobFile($"[a]\ndevice=mem:size=1M\nruntime=100ms\n");
        AssertUsage(CliRunner.Run("bench", "--output-format=json,json+", $"--output={image}.pnvmefmt", job), "--output: ");
        Assert.That(Hash(image), Is.EqualTo(before));
    }

    [Test]
    public void Nothing_is_laid_out_or_created_before_every_job_has_been_checked()
    {
        string file = Path.Combine(_dir, "laid-out.bin");
        string image = Path.Combine(_dir, "new.img");
        // The first two jobs are fine; the third does not fit its device: no file may appear.
        string job = JobFile($"[a]\nfilename={file}\nsize=1m\nrw=read\nruntime=100ms\n[b]\ndevice=emu:{image},size=4M\nrw=read\nruntime=100ms\n"
            + "[c]\ndevice=mem:lbads=4096,size=1M\nbs=512\nruntime=100ms\n");
        AssertUsage(CliRunner.Run("bench", job), $"{job}:12: bs: 512 is not a multiple");
        Assert.That(File.Exists(file), Is.False, "the uring: file is laid out only after every check");
        Assert.That(File.Exists(image), Is.False, "the image is created only after its jobs were checked on a probe");
    }

    [Test]
    public void Jobs_together_beyond_the_devices_queue_pairs_are_refused_before_any_file_is_created()
    {
        string image = Path.Combine(_dir, "new.img");
        // qpairs=2: three job threads at once need three I/O queue pairs.
        string job = JobFile($"[global]\ndevice=emu:{image},size=4M,qpairs=2\nruntime=100ms\nrw=read\n[a]\nnumjobs=2\n[b]\n");
        AssertUsage(CliRunner.Run("bench", job), "--numjobs: 3 job threads run at once");
        Assert.That(File.Exists(image), Is.False);
        string walled = JobFile($"[global]\ndevice=emu:{image},size=4M,qpairs=2\nruntime=100ms\nrw=read\n[a]\nnumjobs=2\n[b]\nstonewall\n");
        var run = CliRunner.Run("bench", "--progress=0", walled);
        Assert.That(run.ExitCode, Is.EqualTo(0), "a stonewall lets them run in turn: " + run.Stderr);
        File.Delete(image + ".pnvmefmt");
    }

    [Test]
    public void Jobs_on_one_file_share_it_laid_out_to_the_largest_size()
    {
        string file = Path.Combine(_dir, "shared.bin");
        string alias = Path.Combine(_dir, "alias.bin");
        File.CreateSymbolicLink(alias, file);
        // Before: two uring: targets on one file, each locking it; the second could not open.
        string job = JobFile($"[global]\nruntime=100ms\nrw=randwrite\n[a]\nfilename={file}\nsize=64k\n[b]\nfilename={alias}\nsize=128k\n");
        var run = CliRunner.Run("bench", "--progress=0", job);
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        Assert.That(new FileInfo(file).Length, Is.EqualTo(128 << 10));
        string contradiction = JobFile($"[a]\nfilename={file}\nruntime=100ms\n[b]\nfilename={file}\ndirect=1\nruntime=100ms\n");
        AssertUsage(CliRunner.Run("bench", contradiction), $"{contradiction}:6: direct: '{file}' is also job 'a''s file with direct=0");
    }

    [Test]
    public void Offsets_that_overflow_are_usage_errors()
    {
        AssertUsage(CliRunner.Run("bench", "--device=mem:size=1M", "--numjobs=2", "--offset_increment=8191p", "--size=4k", "--runtime=100ms"), "--offset_increment: clone 1 would start");
        AssertUsage(CliRunner.Run("bench", "--ioengine=null", "--numjobs=3", "--offset_increment=5000p", "--size=4k"), "--size: offset 0 + 2 x offset_increment");
        AssertUsage(CliRunner.Run("bench", "--device=mem:size=1M", "--random_distribution=zoned_abs:50/8000p:50/8000p", "--runtime=100ms"), "--random_distribution: the zoned_abs zones cover more than 8191p bytes");
    }

    [Test]
    public void A_nul_in_a_job_file_name_or_a_file_option_is_a_usage_error()
    {
        // Found by the CLI fuzzer (seed 20260, vector 5713): a job file named "\0" was an unexpected ArgumentException.
        AssertUsage(CliRunner.Run("bench", "\0", "--device=mem:size=1M"), "a job file name cannot contain a NUL character");
        AssertUsage(CliRunner.Run("bench", "--filename=a\0b", "--size=1m"), "--filename: contains a NUL character");
        AssertUsage(CliRunner.Run("bench", "--device=mem:size=1M", "--write_lat_log=log\0"), "--write_lat_log: contains a NUL character");
        AssertUsage(CliRunner.Run("bench", $"--device=uring:{_dir}/f\0g,size=1M"), "--device: contains a NUL character");
        string job = JobFile($"[a]\ndevice=mem:size=1M\ninclude inc\0\n");
        AssertUsage(CliRunner.Run("bench", job), "a job file name cannot contain a NUL character");
    }

    [Test]
    public void Under_taskset_cpus_allowed_outside_the_allowed_set_is_a_usage_error()
    {
        int[] allowed = PolledNvme.Queues.CoreAffinity.AllowedCpus();
        Assume.That(File.Exists("/usr/bin/taskset") && allowed.Length > 1, "needs taskset and two allowed CPUs");
        int only = allowed[^1];
        string job = JobFile($"[a]\ndevice=mem:size=1M\nruntime=100ms\ncpus_allowed={allowed[0]}\n");
        var refused = CliRunner.RunProcess(["bench", job], prefix: ["taskset", "-c", $"{only}"], timeout: TimeSpan.FromMinutes(1));
        AssertUsage(refused, $"{job}:4: cpus_allowed: CPU {allowed[0]} is not one this process may run on; allowed: {only}");
        var accepted = CliRunner.RunProcess(["bench", "--progress=0", "--device=mem:size=1M", "--runtime=100ms", $"--cpus_allowed={only}"], prefix: ["taskset", "-c", $"{only}"], timeout: TimeSpan.FromMinutes(1));
        Assert.That(accepted.ExitCode, Is.EqualTo(0), accepted.Stderr);
    }
}
