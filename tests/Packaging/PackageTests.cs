using System.Diagnostics;
using System.IO.Compression;
using NUnit.Framework;
using PolledNvme.Tests.Scripts;

namespace PolledNvme.Tests.Packaging;

/// <summary>
/// `make pack`'s packages are usable: packed into a temporary local feed and restored into fresh
/// console projects (their own NuGet cache, so a stale cached package cannot stand in for a
/// broken one). One references PolledNvme.Driver only: it gets no emulated controller, and
/// opening <c>mem:</c> fails with a message naming the package. One also references
/// PolledNvme.Emulation without using any of its types: the schemes register themselves, and a
/// PI-protected write/read round trip runs on <c>mem:</c>.
/// </summary>
[Category("Packaging")]
public class PackageTests
{
    private static readonly string[] Packages = ["PolledNvme.Protection", "PolledNvme.Driver", "PolledNvme.Emulation", "PolledNvme.Uring"];

    private const string RoundTripProgram = """
        using PolledNvme.Driver;
        using PolledNvme.Protection;

        using var controller = NvmeController.Open("mem:lbads=4096,ms=8,pi=1,size=16M");
        Namespace ns = controller.Namespaces[0];
        using var qp = controller.CreateIoQueuePair(entries: 16);
        using var buffer = controller.Memory.Allocate(8 * ns.BlockSize);
        var pi = new IoProtectionOptions { Pract = true, Checks = PiChecks.Guard | PiChecks.ReferenceTag };
        for (int i = 0; i < buffer.Span.Length; i++) buffer.Span[i] = (byte)(i * 7 + i / 4096);
        byte[] written = buffer.Span.ToArray();
        qp.Wait(qp.WriteAsync(ns, slba: 0, blocks: 8, buffer, null, pi), TimeSpan.FromSeconds(10));
        buffer.Span.Clear();
        qp.Wait(qp.ReadAsync(ns, slba: 0, blocks: 8, buffer, null, pi), TimeSpan.FromSeconds(10));
        if (!buffer.Span.SequenceEqual(written)) { Console.WriteLine("MISMATCH"); return 1; }
        byte[] check = "123456789"u8.ToArray();
        Console.WriteLine($"blocks=8 blockSize={ns.BlockSize} roundtrip=ok");
        Console.WriteLine($"crc16={Crc16T10Dif.Compute(check):x4} crc64={Crc64Nvme.Compute(check):x16}");
        return 0;
        """;

    private const string DriverOnlyProgram = """
        using PolledNvme.Driver;

        try
        {
            using var controller = NvmeController.Open("mem:size=16M");
            Console.WriteLine("OPENED");
            return 1;
        }
        catch (ArgumentException e)
        {
            bool loaded = AppDomain.CurrentDomain.GetAssemblies().Any(a => a.GetName().Name == "PolledNvme.Emulation");
            Console.WriteLine($"refused: {e.Message}");
            Console.WriteLine($"emulation-loaded={loaded}");
            return 3;
        }
        """;

    [Test]
    public void PackagesSplitByRoleAndTheEmulationOnlyComesWhenReferenced()
    {
        string work = Directory.CreateTempSubdirectory("pnvme-pack-").FullName;
        try
        {
            string feed = Path.Combine(work, "feed");
            string cache = Path.Combine(work, "nuget-cache");
            var env = new Dictionary<string, string>
            {
                ["NUGET_PACKAGES"] = cache,
                ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
                ["DOTNET_NOLOGO"] = "1",
            };

            // The src projects were just built by this test run's build, in its configuration;
            // --no-build packs those binaries instead of rebuilding under the running tests.
            string configuration = AppContext.BaseDirectory.Contains("/bin/Debug/") ? "Debug" : "Release";
            foreach (string id in Packages)
            {
                string project = id["PolledNvme.".Length..];
                var pack = Dotnet(ScriptRunner.RepoRoot, env, "pack", $"src/{project}/{id}.csproj",
                    "-c", configuration, "--no-build", "--nologo", "-o", feed);
                Assert.That(pack.ExitCode, Is.EqualTo(0), pack.ToString());
            }
            Assert.That(Directory.GetFiles(feed, "*.nupkg").Select(Path.GetFileName), Is.EquivalentTo(Packages.Select(id => $"{id}.0.1.0.nupkg")));
            Assert.That(Directory.GetFiles(feed, "*.snupkg"), Has.Length.EqualTo(Packages.Length));
            AssertPackageMetadata(feed);

            string driverOnly = CreateApp(work, "driver-only", feed, DriverOnlyProgram, "PolledNvme.Driver");
            var refused = Dotnet(driverOnly, env, "run", "-c", "Release");
            Assert.That(refused.ExitCode, Is.EqualTo(3), refused.ToString());
            Assert.That(refused.Stdout, Does.Contain("Unknown device scheme 'mem:'").And.Contain("registered: pci:")
                .And.Contain("need the PolledNvme.Emulation package"), refused.ToString());
            Assert.That(refused.Stdout, Does.Contain("emulation-loaded=False"), "an application that links the driver does not get the emulator");
            Assert.That(File.Exists(Path.Combine(driverOnly, "bin", "Release", "net10.0", "PolledNvme.Emulation.dll")), Is.False);

            string withEmulation = CreateApp(work, "with-emulation", feed, RoundTripProgram, "PolledNvme.Driver", "PolledNvme.Emulation");
            var run = Dotnet(withEmulation, env, "run", "-c", "Release");
            Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
            Assert.That(run.Stdout, Does.Contain("blocks=8 blockSize=4096 roundtrip=ok"), run.ToString());
            // Check values of the CRC catalogue (input "123456789"), see spec/PI.md.
            Assert.That(run.Stdout, Does.Contain("crc16=d0db crc64=ae8b14860a799888"), run.ToString());
            // The packages restored are the ones just packed, from the isolated cache.
            foreach (string id in Packages)
                Assert.That(Directory.Exists(Path.Combine(cache, id.ToLowerInvariant(), "0.1.0")), Is.True, $"{id} 0.1.0 not restored into the isolated cache");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>A console project in <paramref name="work"/>/<paramref name="name"/> referencing <paramref name="packages"/> from <paramref name="feed"/>.</summary>
    private static string CreateApp(string work, string name, string feed, string program, params string[] packages)
    {
        string app = Path.Combine(work, name);
        Directory.CreateDirectory(app);
        File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
            </configuration>
            """);
        string references = string.Join("\n", packages.Select(p => $"    <PackageReference Include=\"{p}\" Version=\"0.1.0\" />"));
        File.WriteAllText(Path.Combine(app, "App.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
              </PropertyGroup>
              <ItemGroup>
            {references}
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(app, "Program.cs"), program);
        return app;
    }

    /// <summary>README, MIT license, XML docs, symbols, the git commit and each package's dependencies.</summary>
    private static void AssertPackageMetadata(string feed)
    {
        foreach (string id in Packages)
        {
            using (ZipArchive nupkg = ZipFile.OpenRead(Path.Combine(feed, $"{id}.0.1.0.nupkg")))
            {
                string[] entries = nupkg.Entries.Select(e => e.FullName).ToArray();
                Assert.That(entries, Does.Contain("README.md").And.Contain($"lib/net10.0/{id}.dll").And.Contain($"lib/net10.0/{id}.xml"), id);
                using var reader = new StreamReader(nupkg.GetEntry($"{id}.nuspec")!.Open());
                string nuspec = reader.ReadToEnd();
                Assert.That(nuspec, Does.Contain("<license type=\"expression\">MIT</license>").And.Contain("<readme>README.md</readme>"), id);
                Assert.That(nuspec, Does.Match("<repository type=\"git\"[^>]* commit=\"[0-9a-f]{40}\""), id);
                string[] dependencies = System.Text.RegularExpressions.Regex.Matches(nuspec, "<dependency id=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToArray();
                string[] expected = id switch
                {
                    "PolledNvme.Protection" => [],                                  // the BCL only
                    "PolledNvme.Driver" => ["PolledNvme.Protection", "Tmds.LibC"],  // no emulator, no io_uring
                    "PolledNvme.Emulation" => ["PolledNvme.Driver", "PolledNvme.Protection", "PolledNvme.Uring"],
                    "PolledNvme.Uring" => ["Tmds.LibC"],
                    _ => throw new InvalidOperationException(id),
                };
                Assert.That(dependencies, Is.EquivalentTo(expected), $"{id} dependencies");
            }
            using ZipArchive snupkg = ZipFile.OpenRead(Path.Combine(feed, $"{id}.0.1.0.snupkg"));
            Assert.That(snupkg.Entries.Select(e => e.FullName), Does.Contain($"lib/net10.0/{id}.pdb"), id);
        }
    }

    private static ScriptRunner.Result Dotnet(string workingDirectory, IDictionary<string, string> environment, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args) psi.ArgumentList.Add(a);
        foreach ((string key, string value) in environment) psi.Environment[key] = value;
        // The test host's own MSBuild settings must not leak into the child builds.
        psi.Environment.Remove("MSBuildSDKsPath");
        psi.Environment.Remove("MSBUILD_EXE_PATH");
        psi.Environment.Remove("MSBuildExtensionsPath");
        using var process = Process.Start(psi)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(120_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet {string.Join(' ', args)} did not finish in 120 s.");
        }
        return new ScriptRunner.Result(process.ExitCode, stdout.Result, stderr.Result);
    }
}
