using NUnit.Framework;

namespace PolledNvme.Tests.Bench;

/// <summary>The outputs of the nvme-cli-style tools beyond read: what a passthru receives (<c>--input-file</c> on a read).</summary>
public partial class OutputPathTests
{
    [Test]
    public void Passthru_output_naming_the_image_or_its_record_is_refused()
    {
        ulong before = Hash();
        foreach (string target in new[] { _image, _image + ".pnvmefmt" })
        {
            foreach (var (name, path) in SpellingsOf(target))
            {
                AssertRefused(CliRunner.Run("admin-passthru", _device, "-o", "6", "--cdw10=1", "-l", "4096", "-r", "-i", path), "--input-file", name, before);
                AssertRefused(CliRunner.Run("io-passthru", _device, "-o", "2", "-n", "1", "-l", "4096", "-i", path), "--input-file", name, before);
            }
        }
    }
}
