using PolledNvme.Driver;
using PolledNvme.Protection;

namespace PolledNvme.Conformance;

/// <summary>Receives the outcome of each expectation.</summary>
public interface IConformanceSink
{
    /// <summary><paramref name="check"/> held for <paramref name="subject"/>; <paramref name="deviation"/> names a QEMU deviation met on the way.</summary>
    void Passed(string check, string subject, string? deviation);

    /// <summary><paramref name="check"/> did not hold for <paramref name="subject"/>.</summary>
    void Failed(string check, string subject, string message);
}

/// <summary>Runs <see cref="ControllerExpectations"/> against an opened controller.</summary>
public static class ConformanceRunner
{
    /// <summary>Runs one expectation; returns null when it held, else the failure message.</summary>
    public static string? Run(Expectation expectation, ConformanceTarget target)
    {
        target.DeviationSeen = null;
        try
        {
            expectation.Check(target);
            return null;
        }
        catch (ExpectationFailure e)
        {
            return e.Message;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return $"{e.GetType().Name}: {e.Message}";
        }
    }

    /// <summary>Runs the controller-wide expectations on a fresh queue pair.</summary>
    public static void RunController(NvmeController controller, ControllerKind kind, IConformanceSink sink)
    {
        using IoQueuePair queue = controller.CreateIoQueuePair(32);
        var target = new ConformanceTarget(controller, queue, kind, null);
        foreach (Expectation e in ControllerExpectations.Controller)
            Report(e, target, "controller", sink);
    }

    /// <summary>
    /// Switches namespace 1 to <paramref name="format"/> with Format NVM (when <paramref name="formatFirst"/>),
    /// then runs every expectation that applies to it.
    /// </summary>
    public static void RunFormat(NvmeController controller, ConformanceFormat format, ControllerKind kind, IConformanceSink sink, bool formatFirst)
    {
        if (formatFirst)
        {
            string? error = null;
            try
            {
                controller.FormatNvm(1, FormatIndex(controller.Namespaces[0], format), format.Extended, (int)format.Type, format.Location == PiLocation.First);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                error = $"{e.GetType().Name}: {e.Message}";
            }
            if (error is not null)
            {
                sink.Failed("format-nvm", format.Name, error);
                return;
            }
            sink.Passed("format-nvm", format.Name, null);
        }
        using IoQueuePair queue = controller.CreateIoQueuePair(32);
        var target = new ConformanceTarget(controller, queue, kind, format);
        foreach (Expectation e in ControllerExpectations.For(format))
            Report(e, target, format.Name, sink);
    }

    /// <summary>The LBA format index of <paramref name="ns"/> with the block size, metadata size and guard of <paramref name="format"/>.</summary>
    /// <exception cref="ArgumentException">The namespace offers no such format.</exception>
    public static int FormatIndex(Namespace ns, ConformanceFormat format)
    {
        foreach (NamespaceLbaFormat f in ns.LbaFormats)
            if (f.BlockSize == format.BlockSize && f.MetadataSize == format.MetadataSize && (format.Type == PiType.None || f.GuardFormat == format.Guard) && f.StorageTagSize == 0)
                return f.Index;
        throw new ArgumentException($"Namespace {ns.Id} has no LBA format {format.BlockSize}+{format.MetadataSize} with {format.Guard} and STS 0 (it has: {string.Join(", ", ns.LbaFormats)}).", nameof(format));
    }

    private static void Report(Expectation e, ConformanceTarget target, string subject, IConformanceSink sink)
    {
        string? failure = Run(e, target);
        if (failure is null) sink.Passed(e.Name, subject, target.DeviationSeen);
        else sink.Failed(e.Name, subject, failure);
    }
}
