using System.Diagnostics;
using System.Text;
using PolledNvme.Tools.PiCrashWriter;

namespace PolledNvme.Tests.Emulation.Media;

/// <summary>
/// tools/PiCrashWriter as a real child process: it opens an image as an emulated controller (so
/// it holds the image's lock), deallocates part of it and rewrites every block, generation after
/// generation, until it is killed (SIGKILL).
/// </summary>
internal sealed class CrashWriterChild : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _errors = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _generation = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _lastDone;

    private CrashWriterChild(Process process, int firstGeneration)
    {
        _process = process;
        _lastDone = firstGeneration - 1;
    }

    /// <summary>Starts the writer on <paramref name="path"/> (created when missing) over <paramref name="blocks"/> blocks of <paramref name="format"/> (default: the 64b guard one).</summary>
    public static CrashWriterChild Start(string path, int blocks, int firstGeneration) => Start(CrashFormat.Guard64, path, blocks, firstGeneration);

    /// <inheritdoc cref="Start(string, int, int)"/>
    public static CrashWriterChild Start(CrashFormat format, string path, int blocks, int firstGeneration)
    {
        string writer = Path.Combine(AppContext.BaseDirectory, "PolledNvme.Tests.PiCrashWriter.dll");
        string dotnet = Environment.ProcessPath is { } host && Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in (string[])[writer, format.Name, path, blocks.ToString(), firstGeneration.ToString()])
            start.ArgumentList.Add(arg);
        var child = new CrashWriterChild(Process.Start(start)!, firstGeneration);
        child._process.OutputDataReceived += (_, e) => child.OnLine(e.Data);
        child._process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (child._errors) child._errors.AppendLine(e.Data); };
        child._process.BeginOutputReadLine();
        child._process.BeginErrorReadLine();
        return child;
    }

    private void OnLine(string? line)
    {
        if (line == "ready")
            _ready.TrySetResult();
        else if (line is not null && line.StartsWith("generation ", StringComparison.Ordinal))
        {
            Volatile.Write(ref _lastDone, int.Parse(line.Split(' ')[1]));
            _generation.TrySetResult();
        }
    }

    /// <summary>The child's process id.</summary>
    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The last generation the child completed.</summary>
    public int LastDone => Volatile.Read(ref _lastDone);

    /// <summary>What the child wrote on stderr (for assertion messages).</summary>
    public string Errors
    {
        get
        {
            lock (_errors)
                return $"exit={(_process.HasExited ? _process.ExitCode : -1)} {_errors}";
        }
    }

    /// <summary>Waits until the image is open (and locked) in the child.</summary>
    public bool WaitReady(TimeSpan timeout) => WaitFor(_ready.Task, timeout);

    /// <summary>Waits until the child has rewritten every block once.</summary>
    public bool WaitFirstGeneration(TimeSpan timeout) => WaitFor(_generation.Task, timeout);

    private bool WaitFor(Task task, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (!task.IsCompleted && !_process.HasExited && deadline.Elapsed < timeout)
            task.Wait(TimeSpan.FromMilliseconds(50));
        return task.IsCompleted && !_process.HasExited;
    }

    /// <summary>SIGKILL: no cleanup, no flush, mid-I/O; returns once the process is gone.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
            _process.Kill();
        _process.WaitForExit();
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }
}
