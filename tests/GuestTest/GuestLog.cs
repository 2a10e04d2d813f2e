using PolledNvme.Conformance;

namespace PolledNvme.GuestTest;

/// <summary>Prints "PASS name: detail" / "FAIL name: detail" lines and the final count the host script greps.</summary>
internal sealed class GuestLog(TextWriter output, string configuration) : IConformanceSink
{
    private int _passed;
    private int _failed;
    private int _deviations;

    public void Pass(string check, string detail)
    {
        _passed++;
        output.WriteLine($"PASS {check}: {detail}");
    }

    public void Fail(string check, string detail)
    {
        _failed++;
        output.WriteLine($"FAIL {check}: {detail}");
    }

    public void Info(string text) => output.WriteLine($"     {text}");

    void IConformanceSink.Passed(string check, string subject, string? deviation)
    {
        if (deviation is null)
        {
            Pass(check, subject);
            return;
        }
        _deviations++;
        Pass(check, $"{subject} (QEMU deviation, {deviation})");
        output.WriteLine($"DEVIATION {check} [{subject}]: {deviation}");
    }

    void IConformanceSink.Failed(string check, string subject, string message) => Fail(check, $"{subject}: {message}");

    /// <summary>Prints the summary line and returns the process exit code.</summary>
    public int Finish()
    {
        output.WriteLine($"guest-summary {configuration}: {_passed} passed, {_failed} failed, {_deviations} QEMU deviations");
        output.Flush();
        return _failed == 0 && _passed > 0 ? 0 : 1;
    }
}
