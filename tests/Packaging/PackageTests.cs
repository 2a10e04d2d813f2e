using System.Diagnostics;
using System.IO.Compression;
using NUnit.Framework;
using PolledNvme.Tests.Scripts;

namespace PolledNvme.Tests.Packaging;

/// <summary>
/// `make pack`'s packages are usable: packed into a temporary local feed, restored into a fresh
/// console project (its own NuGet cache, so a stale cached package cannot stand in for a broken
/// one) and run: a PI-protected write/read round trip on an emulated namespace.
/// </summary>
[Category("Packaging")]
public class PackageTests
{
    private const string ConsumerProgram = """
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

    [Test]
    public void PackedDriverRestoresIntoAFreshProjectAndRoundTripsWithPi()
    {
        string work = Directory.CreateTempSubdirectory("pnvme-pack-").FullName;
        try
        {
            string feed = Path.Combine(work, "feed");
            string cache = Path.Combine(work, "nuget-cache");
            string app = Path.Combine(work, "app");
            Directory.CreateDirectory(app);
            var env = new Dictionary<string, string>
            {
                ["NUGET_PACKAGES"] = cache,
                ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
                ["DOTNET_NOLOGO"] = "1",
            };

            // The src projects were just built by this test run's build, in its configuration;
            // --no-build packs those binaries instead of rebuilding under the running tests.
            string configuration = AppContext.BaseDirectory.Contains("/bin/Debug/") ? "Debug" : "Release";
            foreach (string project in new[] { "Protection", "Queues", "Driver" })
            {
                var pack = Dotnet(ScriptRunner.RepoRoot, env, "pack", $"src/{project}/PolledNvme.{project}.csproj",
                    "-c", configuration, "--no-build", "--nologo", "-o", feed);
                Assert.That(pack.ExitCode, Is.EqualTo(0), pack.ToString());
            }
            Assert.That(Directory.GetFiles(feed, "*.nupkg").Select(Path.GetFileName),
                Is.EquivalentTo(new[] { "PolledNvme.Protection.0.1.0.nupkg", "PolledNvme.Queues.0.1.0.nupkg", "PolledNvme.Driver.0.1.0.nupkg" }));
            Assert.That(Directory.GetFiles(feed, "*.snupkg"), Has.Length.EqualTo(3));
            AssertPackageMetadata(feed);

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
            File.WriteAllText(Path.Combine(app, "App.csproj"), """
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <Nullable>enable</Nullable>
                    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="PolledNvme.Driver" Version="0.1.0" />
                  </ItemGroup>
                </Project>
                """);
            File.WriteAllText(Path.Combine(app, "Program.cs"), ConsumerProgram);

            var run = Dotnet(app, env, "run", "-c", "Release");
            Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
            Assert.That(run.Stdout, Does.Contain("blocks=8 blockSize=4096 roundtrip=ok"), run.ToString());
            // Check values of the CRC catalogue (input "123456789"), see spec/PI.md.
            Assert.That(run.Stdout, Does.Contain("crc16=d0db crc64=ae8b14860a799888"), run.ToString());
            // The package restored is the one just packed, from the isolated cache.
            Assert.That(Directory.Exists(Path.Combine(cache, "pollednvme.driver", "0.1.0")), Is.True, "PolledNvme.Driver 0.1.0 not restored into the isolated cache");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>README, MIT license, XML docs, symbols, the git commit and the package dependencies.</summary>
    private static void AssertPackageMetadata(string feed)
    {
        foreach (string id in new[] { "PolledNvme.Protection", "PolledNvme.Queues", "PolledNvme.Driver" })
        {
            using (ZipArchive nupkg = ZipFile.OpenRead(Path.Combine(feed, $"{id}.0.1.0.nupkg")))
            {
                string[] entries = nupkg.Entries.Select(e => e.FullName).ToArray();
                Assert.That(entries, Does.Contain("README.md").And.Contain($"lib/net10.0/{id}.dll").And.Contain($"lib/net10.0/{id}.xml"), id);
                using var reader = new StreamReader(nupkg.GetEntry($"{id}.nuspec")!.Open());
                string nuspec = reader.ReadToEnd();
                Assert.That(nuspec, Does.Contain("<license type=\"expression\">MIT</license>").And.Contain("<readme>README.md</readme>"), id);
                Assert.That(nuspec, Does.Match("<repository type=\"git\"[^>]* commit=\"[0-9a-f]{40}\""), id);
                if (id == "PolledNvme.Driver")
                    Assert.That(nuspec, Does.Contain("<dependency id=\"PolledNvme.Protection\" version=\"0.1.0\"")
                        .And.Contain("<dependency id=\"PolledNvme.Queues\" version=\"0.1.0\""));
                if (id == "PolledNvme.Protection")
                    Assert.That(nuspec, Does.Not.Contain("<dependency "), "Protection depends on the BCL only");
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
