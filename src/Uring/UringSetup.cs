using Tmds.Linux;

namespace PolledNvme.Uring;

/// <summary>
/// io_uring_setup(2) with fallbacks: optional flags the kernel rejects (EINVAL) are dropped
/// one by one, newest first; a ring that cannot exist at all becomes a
/// <see cref="UringUnavailableException"/> that says why and what to do.
/// </summary>
internal static unsafe class UringSetup
{
    /// <summary>The setup system call: returns a ring fd, or a negated errno. Replaceable in tests.</summary>
    internal delegate int SetupCall(uint entries, UringParams* parameters);

    /// <summary>The real io_uring_setup(2).</summary>
    internal static int KernelSetup(uint entries, UringParams* parameters)
    {
        int fd = LibC.io_uring_setup(entries, (io_uring_params*)parameters);
        return fd >= 0 ? fd : -LibC.errno;
    }

    // Optional flags, dropped in this order when the kernel says EINVAL (newest first).
    private static readonly UringSetupFlags[] s_fallbackOrder =
    [
        UringSetupFlags.DeferTaskRun,
        UringSetupFlags.SingleIssuer,
        UringSetupFlags.TaskRunFlag,
        UringSetupFlags.CoopTaskRun,
        UringSetupFlags.SubmitAll,
    ];

    /// <summary>Creates the ring fd; <paramref name="parameters"/> comes back filled in by the kernel.</summary>
    public static int CreateRingFd(UringRingOptions options, SetupCall setup, string disabledSysctlPath, out UringParams parameters)
    {
        options.Validate();
        int disabled = ReadDisabledSysctl(disabledSysctlPath);
        if (disabled == 2)
            throw new UringUnavailableException(Errno.EPERM,
                $"io_uring is disabled on this system ({disabledSysctlPath} = 2). " +
                "Enable it with 'sysctl -w kernel.io_uring_disabled=0', or use a device that does not need io_uring " +
                "(emu:PATH falls back to synchronous system calls; mem: and null: do no file I/O).");

        UringSetupFlags flags = UringSetupFlags.SubmitAll;
        if (options.CqEntries != 0) flags |= UringSetupFlags.CqSize;
        if (options.SqPoll) flags |= UringSetupFlags.SqPoll;
        if (options.CooperativeTaskRun && !options.SqPoll) flags |= UringSetupFlags.CoopTaskRun;
        if (options.TaskRunFlag && !options.SqPoll) flags |= UringSetupFlags.TaskRunFlag;
        // DEFER_TASKRUN requires SINGLE_ISSUER and excludes SQPOLL.
        if (options.SingleIssuer) flags |= options.SqPoll ? UringSetupFlags.SingleIssuer : UringSetupFlags.SingleIssuer | UringSetupFlags.DeferTaskRun;

        int next = 0;
        while (true)
        {
            parameters = default;
            parameters.Flags = flags;
            parameters.CqEntries = options.CqEntries;
            parameters.SqThreadIdle = options.SqPollIdleMilliseconds;
            int result;
            fixed (UringParams* p = &parameters)
                result = setup(options.SqEntries, p);
            if (result >= 0)
                return result;

            int errno = -result;
            if (errno == Errno.EINTR)
                continue;
            if (errno == Errno.EINVAL && TryDropNextOptional(ref flags, ref next))
                continue;
            throw SetupFailure(errno, options, flags, disabled, disabledSysctlPath);
        }
    }

    private static bool TryDropNextOptional(ref UringSetupFlags flags, ref int next)
    {
        while (next < s_fallbackOrder.Length)
        {
            UringSetupFlags candidate = s_fallbackOrder[next++];
            if ((flags & candidate) != 0)
            {
                flags &= ~candidate;
                return true;
            }
        }
        return false;
    }

    /// <summary>The sysctl's value, or 0 when the file does not exist (kernels before 6.6).</summary>
    private static int ReadDisabledSysctl(string path)
    {
        try
        {
            return int.TryParse(File.ReadAllText(path).AsSpan().Trim(), out int value) ? value : 0;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private static UringException SetupFailure(int errno, UringRingOptions options, UringSetupFlags flags, int disabled, string sysctlPath)
    {
        string what = Errno.Describe(errno);
        return errno switch
        {
            Errno.ENOSYS => new UringUnavailableException(errno,
                $"io_uring_setup failed with {what}: this kernel has no io_uring (Linux 5.1+ built with CONFIG_IO_URING=y is needed) " +
                "or a seccomp policy blocks it (container runtimes' default profiles do). Allow io_uring_setup/io_uring_enter/io_uring_register " +
                "or use a device that does not need io_uring (emu:PATH falls back to synchronous system calls; mem: and null: do no file I/O)."),
            Errno.EPERM => new UringUnavailableException(errno, disabled == 1
                ? $"io_uring_setup failed with {what}: {sysctlPath} = 1 allows io_uring only to members of the group in " +
                  "kernel.io_uring_group and to CAP_SYS_ADMIN. Join that group, run as root, or set 'sysctl -w kernel.io_uring_disabled=0'."
                : $"io_uring_setup failed with {what}: a security policy (seccomp, an LSM) or missing privileges " +
                  (options.SqPoll ? "(SQPOLL needed CAP_SYS_NICE before 5.11) " : "") + "refused the ring."),
            Errno.ENOMEM => new UringException("io_uring_setup", errno,
                $"io_uring_setup failed with {what}: the ring memory ({options.SqEntries} SQ entries) could not be allocated; " +
                "kernels before 5.12 charge it to RLIMIT_MEMLOCK: raise 'ulimit -l' or use fewer entries."),
            _ => new UringException("io_uring_setup", errno,
                $"io_uring_setup failed with {what} for SqEntries={options.SqEntries}, CqEntries={options.CqEntries}, " +
                $"flags={flags} (optional flags already dropped where refused)."),
        };
    }
}
