using Tmds.Linux;

namespace PolledNvme.Uring;

// io_uring_register(2): fixed buffers, fixed files, probe. Setup-time only, never per I/O.
public sealed unsafe partial class UringRing
{
    /// <summary>True while buffers are registered (READ_FIXED / WRITE_FIXED usable).</summary>
    public bool HasRegisteredBuffers { get; private set; }

    /// <summary>Number of registered files (fixed-file indices 0..n-1), 0 if none.</summary>
    public int RegisteredFileCount { get; private set; }

    /// <summary>
    /// Registers buffers (IORING_REGISTER_BUFFERS): the kernel pins them once, and
    /// READ_FIXED / WRITE_FIXED then name them by index. Replaces nothing: unregister first.
    /// </summary>
    public void RegisterBuffers(ReadOnlySpan<IoVec> buffers)
    {
        if (buffers.IsEmpty)
            throw new ArgumentException("At least one buffer must be registered.", nameof(buffers));
        if (HasRegisteredBuffers)
            throw new InvalidOperationException("Buffers are already registered on this ring; call UnregisterBuffers first.");
        fixed (IoVec* iov = buffers)
            Register(UringAbi.RegisterBuffers, iov, (uint)buffers.Length, "IORING_REGISTER_BUFFERS");
        HasRegisteredBuffers = true;
    }

    /// <summary>Releases the registered buffers; operations using them must have completed.</summary>
    public void UnregisterBuffers()
    {
        if (!HasRegisteredBuffers)
            return;
        Register(UringAbi.UnregisterBuffers, null, 0, "IORING_UNREGISTER_BUFFERS");
        HasRegisteredBuffers = false;
    }

    /// <summary>
    /// Registers file descriptors (IORING_REGISTER_FILES); an SQE with IOSQE_FIXED_FILE then
    /// names a file by its index here, saving the kernel a file-table lookup per I/O.
    /// </summary>
    public void RegisterFiles(ReadOnlySpan<int> fds)
    {
        if (fds.IsEmpty)
            throw new ArgumentException("At least one file descriptor must be registered.", nameof(fds));
        if (RegisteredFileCount != 0)
            throw new InvalidOperationException("Files are already registered on this ring; call UnregisterFiles first.");
        fixed (int* p = fds)
            Register(UringAbi.RegisterFiles, p, (uint)fds.Length, "IORING_REGISTER_FILES");
        RegisteredFileCount = fds.Length;
    }

    /// <summary>Releases the registered files.</summary>
    public void UnregisterFiles()
    {
        if (RegisteredFileCount == 0)
            return;
        Register(UringAbi.UnregisterFiles, null, 0, "IORING_UNREGISTER_FILES");
        RegisteredFileCount = 0;
    }

    /// <summary>io_uring_register(2); returns the result or throws with the operation and errno.</summary>
    internal int Register(uint opcode, void* argument, uint count, string operation)
    {
        int result;
        do
        {
            result = LibC.io_uring_register(_ringFd, opcode, argument, count);
        }
        while (result < 0 && LibC.errno == Errno.EINTR);
        if (result < 0)
        {
            int errno = LibC.errno;
            throw new UringException(operation, errno, $"io_uring_register({operation}, {count} entries) failed with {Errno.Describe(errno)}" +
                (errno == Errno.ENOMEM ? "; pinned memory is charged to RLIMIT_MEMLOCK: raise 'ulimit -l'." : "."));
        }
        return result;
    }
}
