using System.Globalization;
using NUnit.Framework;
using PolledNvme.Examples.Hello;
using PolledNvme.Protection;

namespace PolledNvme.Tests.Examples;

/// <summary>Runs examples/Hello and checks the tuples it prints against host-side PI generation.</summary>
public class HelloTests
{
    [Test]
    public void PrintsTheTuplesTheControllerInserted()
    {
        var output = new StringWriter();
        HelloProgram.Run(output);
        string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.That(lines, Has.Length.EqualTo(9), output.ToString());
        Assert.That(lines[0], Does.Contain("every check passed"));

        // What the controller should have stored: guard = CRC-16/T10-DIF of each block, app tag, ref tag = LBA.
        var format = new ProtectionFormat(4096, 8, PiGuardFormat.Guard16, PiType.Type1, PiLocation.Last, 0, MetadataLayout.Separate);
        var context = new ProtectionContext(format, PiChecks.None, initialReferenceTag: 0, applicationTag: HelloProgram.ApplicationTag);
        var data = new byte[8 * 4096];
        var metadata = new byte[8 * 8];
        HelloProgram.FillPattern(data, 4096);
        context.Generate(data, metadata, 8);
        for (int block = 0; block < 8; block++)
        {
            PiTuple expected = PiTuple.Read(metadata.AsSpan(block * 8, 8), PiGuardFormat.Guard16, 0);
            Assert.That(expected.ReferenceTag, Is.EqualTo((ulong)block));
            Assert.That(lines[block + 1], Is.EqualTo(string.Create(CultureInfo.InvariantCulture,
                $"lba {block}: guard {expected.Guard:X4} app {expected.ApplicationTag:X4} ref {expected.ReferenceTag:X8}")));
        }
    }
}

/// <summary>The README shows the body of <c>HelloProgram.Run</c>; it must stay the same code.</summary>
public class HelloReadmeTests
{
    [Test]
    public void ReadmeShowsTheCodeOfHelloProgramRun()
    {
        string root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "PolledNvme.sln")))
            root = Path.GetDirectoryName(root) ?? throw new AssertionException("PolledNvme.sln not found above the test directory");
        string[] source = File.ReadAllLines(Path.Combine(root, "examples/Hello/HelloProgram.cs"));
        int first = Array.FindIndex(source, l => l.Contains("using var controller = NvmeController.Open(Address);", StringComparison.Ordinal));
        int last = Array.FindIndex(source, first, l => l == "    }") - 1;
        Assert.That(first, Is.GreaterThan(0));
        string[] body = source[first..(last + 1)].Select(l => l.Length >= 8 ? l[8..] : l.Trim()).ToArray();

        string[] readme = File.ReadAllLines(Path.Combine(root, "README.md"));
        int start = Array.FindIndex(readme, l => l.Trim() == body[0]);
        Assert.That(start, Is.GreaterThan(0), "README does not show HelloProgram.Run");
        string[] shown = readme[start..(start + body.Length)].Select(l => l.Length >= 2 ? l[2..] : l.Trim()).ToArray();
        Assert.That(shown, Is.EqualTo(body));
    }
}
