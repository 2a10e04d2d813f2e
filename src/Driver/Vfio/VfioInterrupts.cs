using PolledNvme.Queues;

namespace PolledNvme.Driver.Vfio;

/// <summary>
/// A VFIO device's MSI-X vectors bound to eventfds (VFIO_DEVICE_GET_IRQ_INFO, VFIO_DEVICE_SET_IRQS
/// with DATA_EVENTFD | ACTION_TRIGGER on VFIO_PCI_MSIX_IRQ_INDEX): what a sleeping I/O queue pair
/// waits on. Every vector of the table is enabled at once on first use, each with its own eventfd
/// (a kernel without dynamic MSI-X allocation, or a device with NORESIZE, cannot add vectors
/// later); queue pair N uses vector N. Not on any I/O path; thread-safe.
/// </summary>
internal sealed unsafe class VfioInterrupts : IDisposable
{
    private readonly int _deviceFd;
    private readonly PciAddress _address;
    private readonly Lock _lock = new();
    private EventFd[]? _vectors;

    private readonly string? _queryFailure;

    private VfioInterrupts(int deviceFd, PciAddress address, uint count, uint flags, string? queryFailure = null)
    {
        _deviceFd = deviceFd;
        _address = address;
        VectorCount = (int)count;
        Flags = flags;
        _queryFailure = queryFailure;
    }

    /// <summary>MSI-X vectors the function offers (0 when it has none).</summary>
    public int VectorCount { get; }

    /// <summary>VFIO_IRQ_INFO_* flags of the MSI-X index.</summary>
    public uint Flags { get; }

    /// <summary>Asks the kernel about the MSI-X index of <paramref name="deviceFd"/>.</summary>
    /// <remarks>A failed query leaves the device usable by spinning queue pairs; the sleeping modes then report it.</remarks>
    public static VfioInterrupts Query(int deviceFd, PciAddress address)
    {
        var info = new VfioIrqInfo { Argsz = (uint)sizeof(VfioIrqInfo), Index = VfioIoctl.PciMsixIrqIndex };
        int result = VfioSyscalls.Ioctl(deviceFd, VfioIoctl.DeviceGetIrqInfo, &info);
        if (result < 0)
            return new VfioInterrupts(deviceFd, address, 0, 0, VfioException.FromErrno($"VFIO_DEVICE_GET_IRQ_INFO (MSI-X) for {address}", -result).Message);
        bool usable = (info.Flags & VfioIoctl.IrqInfoEventFd) != 0;
        return new VfioInterrupts(deviceFd, address, usable ? info.Count : 0, info.Flags);
    }

    /// <summary>Why no queue pair can sleep on an interrupt, or null when MSI-X is there.</summary>
    public string? UnsupportedReason => VectorCount != 0 ? null
        : _queryFailure is { } failure ? $"{PciAddress.Scheme}{_address}'s MSI-X vectors are unknown ({failure})"
        : $"{PciAddress.Scheme}{_address} offers no MSI-X vectors that can signal an eventfd (VFIO_DEVICE_GET_IRQ_INFO: count 0 or no EVENTFD flag)";

    /// <summary>The eventfd of <paramref name="vector"/>, enabling the whole MSI-X table on first use.</summary>
    /// <exception cref="NotSupportedException">No MSI-X, or the vector is beyond the table.</exception>
    /// <exception cref="VfioException">VFIO_DEVICE_SET_IRQS failed.</exception>
    public EventFd Vector(ushort vector)
    {
        if (UnsupportedReason is { } why)
            throw new NotSupportedException(why + ".");
        if (vector >= VectorCount)
            throw new NotSupportedException($"I/O queue pair {vector} needs MSI-X vector {vector}, but {PciAddress.Scheme}{_address} has {VectorCount} vectors (0..{VectorCount - 1}): use PollMode.Spin for queue pairs beyond {VectorCount - 1}, or fewer queue pairs.");
        lock (_lock)
        {
            _vectors ??= EnableAll();
            return _vectors[vector];
        }
    }

    private EventFd[] EnableAll()
    {
        var fds = new EventFd[VectorCount];
        try
        {
            for (int i = 0; i < fds.Length; i++)
                fds[i] = new EventFd();
            int[] descriptors = Array.ConvertAll(fds, f => f.Descriptor);
            int result = SetIrqs(VfioIoctl.IrqSetDataEventFd | VfioIoctl.IrqSetActionTrigger, descriptors);
            if (result < 0)
                throw VfioException.FromErrno($"VFIO_DEVICE_SET_IRQS (MSI-X vectors 0..{VectorCount - 1} to eventfds) for {_address}", -result);
            return fds;
        }
        catch
        {
            foreach (EventFd? fd in fds)
                fd?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Fills a vfio_irq_set for <paramref name="descriptors"/> (count 0 with DATA_NONE: disable) into
    /// <paramref name="buffer"/>; returns its size. Split out so tests can check the bytes.
    /// </summary>
    internal static int Build(Span<byte> buffer, uint flags, ReadOnlySpan<int> descriptors)
    {
        int size = sizeof(VfioIrqSet) + descriptors.Length * sizeof(int);
        var header = new VfioIrqSet
        {
            Argsz = (uint)size,
            Flags = flags,
            Index = VfioIoctl.PciMsixIrqIndex,
            Start = 0,
            Count = (uint)descriptors.Length,
        };
        System.Runtime.InteropServices.MemoryMarshal.Write(buffer, in header);
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(descriptors).CopyTo(buffer[sizeof(VfioIrqSet)..]);
        return size;
    }

    private int SetIrqs(uint flags, ReadOnlySpan<int> descriptors)
    {
        byte[] buffer = new byte[sizeof(VfioIrqSet) + descriptors.Length * sizeof(int)];
        Build(buffer, flags, descriptors);
        fixed (byte* p = buffer)
            return VfioSyscalls.Ioctl(_deviceFd, VfioIoctl.DeviceSetIrqs, p);
    }

    /// <summary>Disables MSI-X (the device stops signalling) and closes the eventfds; call before the device fd closes.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_vectors is not { } vectors)
                return;
            _vectors = null;
            SetIrqs(VfioIoctl.IrqSetDataNone | VfioIoctl.IrqSetActionTrigger, []);   // failure on the way out changes nothing
            foreach (EventFd fd in vectors)
                fd.Dispose();
        }
    }
}
