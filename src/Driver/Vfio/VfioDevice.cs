using System.Runtime.InteropServices;
using Tmds.Linux;

namespace PolledNvme.Driver.Vfio;

/// <summary>
/// One PCI function opened through its VFIO group: region info, config space access,
/// reset, and BAR0 mapped into this process.
/// </summary>
internal sealed unsafe class VfioDevice : IDisposable
{
    /// <summary>PCI Command register offset in config space (PCI Local Bus 3.0 §6.2.2).</summary>
    internal const int PciCommandOffset = 0x04;
    /// <summary>Command bit 1: Memory Space Enable (BAR0 decodes).</summary>
    internal const ushort CommandMemorySpace = 1 << 1;
    /// <summary>Command bit 2: Bus Master Enable (the device may issue DMA).</summary>
    internal const ushort CommandBusMaster = 1 << 2;
    /// <summary>Command bit 10: Interrupt Disable (INTx off: we poll).</summary>
    internal const ushort CommandInterruptDisable = 1 << 10;

    private int _fd;
    private nint _bar0;
    private ulong _bar0Length;
    private readonly ulong _configOffset;

    /// <summary>The device's address.</summary>
    public PciAddress Address { get; }
    /// <summary>True when the kernel offered VFIO_DEVICE_RESET and it was done on open.</summary>
    public bool WasReset { get; }
    /// <summary>Start of the BAR0 mapping.</summary>
    public nint Bar0 => _bar0;
    /// <summary>The function's MSI-X vectors (bound to eventfds on first use).</summary>
    public VfioInterrupts Interrupts { get; private set; } = null!;
    /// <summary>Length of the BAR0 mapping in bytes.</summary>
    public ulong Bar0Length => _bar0Length;

    private VfioDevice(int fd, PciAddress address, ulong configOffset, bool wasReset)
    {
        _fd = fd;
        Address = address;
        _configOffset = configOffset;
        WasReset = wasReset;
    }

    /// <summary>
    /// Opens <paramref name="address"/> in <paramref name="group"/>, resets it when supported, turns on
    /// memory decoding and bus mastering with INTx off, and maps BAR0.
    /// </summary>
    /// <exception cref="VfioException">Any step failed; the message names it.</exception>
    public static VfioDevice Open(VfioGroup group, PciAddress address)
    {
        ArgumentNullException.ThrowIfNull(group);
        int fd = group.GetDeviceFd(address);
        VfioDevice? device = null;
        try
        {
            var info = new VfioDeviceInfo { Argsz = (uint)sizeof(VfioDeviceInfo) };
            int result = VfioSyscalls.Ioctl(fd, VfioIoctl.DeviceGetInfo, &info);
            if (result < 0) throw VfioException.FromErrno($"VFIO_DEVICE_GET_INFO for {address}", -result);
            if ((info.Flags & VfioIoctl.DeviceFlagsPci) == 0)
                throw new VfioException($"{address} is not a vfio-pci device (VFIO_DEVICE_GET_INFO flags 0x{info.Flags:x}).");
            if (info.NumRegions <= VfioIoctl.PciConfigRegionIndex)
                throw new VfioException($"{address} reports {info.NumRegions} VFIO regions; a PCI function has at least {VfioIoctl.PciConfigRegionIndex + 1}.");

            VfioRegionInfo config = RegionInfo(fd, address, VfioIoctl.PciConfigRegionIndex, "PCI config space");
            bool reset = false;
            if ((info.Flags & VfioIoctl.DeviceFlagsReset) != 0)
            {
                // A function-level reset clears whatever a previous user left in the controller.
                result = VfioSyscalls.Ioctl(fd, VfioIoctl.DeviceReset);
                if (result < 0) throw VfioException.FromErrno($"VFIO_DEVICE_RESET for {address}", -result);
                reset = true;
            }
            device = new VfioDevice(fd, address, config.Offset, reset);
            device.EnableMemoryAndBusMaster();
            device.MapBar0();
            device.Interrupts = VfioInterrupts.Query(fd, address);
            return device;
        }
        catch
        {
            if (device is not null) device.Dispose();
            else VfioSyscalls.Close(fd);
            throw;
        }
    }

    private static VfioRegionInfo RegionInfo(int fd, PciAddress address, uint index, string what)
    {
        var region = new VfioRegionInfo { Argsz = (uint)sizeof(VfioRegionInfo), Index = index };
        int result = VfioSyscalls.Ioctl(fd, VfioIoctl.DeviceGetRegionInfo, &region);
        if (result < 0) throw VfioException.FromErrno($"VFIO_DEVICE_GET_REGION_INFO ({what}) for {address}", -result);
        return region;
    }

    /// <summary>Reads the 16-bit PCI Command register.</summary>
    public ushort ReadCommand()
    {
        ushort value;
        long done = LibC.pread(_fd, &value, 2, (long)_configOffset + PciCommandOffset);
        if (done != 2) throw VfioException.FromErrno($"reading the PCI command register of {Address}", done < 0 ? Marshal.GetLastPInvokeError() : 5 /* EIO */);
        return value;
    }

    private void WriteCommand(ushort value)
    {
        long done = LibC.pwrite(_fd, &value, 2, (long)_configOffset + PciCommandOffset);
        if (done != 2) throw VfioException.FromErrno($"writing the PCI command register of {Address}", done < 0 ? Marshal.GetLastPInvokeError() : 5 /* EIO */);
    }

    private void EnableMemoryAndBusMaster()
    {
        ushort command = ReadCommand();
        ushort wanted = (ushort)(command | CommandMemorySpace | CommandBusMaster | CommandInterruptDisable);
        if (wanted != command) WriteCommand(wanted);
    }

    private void MapBar0()
    {
        VfioRegionInfo bar0 = RegionInfo(_fd, Address, VfioIoctl.PciBar0RegionIndex, "BAR0");
        if (bar0.Size < 0x2000)
            throw new VfioException($"BAR0 of {Address} is {bar0.Size} bytes; an NVMe controller has at least 8 KiB (registers and doorbells, NVMe Base §3.1.4). Is it an NVMe device?");
        if ((bar0.Flags & VfioIoctl.RegionFlagMmap) == 0)
            throw new VfioException($"BAR0 of {Address} cannot be mmapped through VFIO (region flags 0x{bar0.Flags:x}); doorbells need a direct mapping.");
        void* mapping = LibC.mmap(null, (size_t)bar0.Size, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED, _fd, (long)bar0.Offset);
        if (mapping == LibC.MAP_FAILED) throw VfioException.FromErrno($"mmap of BAR0 ({bar0.Size} bytes) of {Address}", Marshal.GetLastPInvokeError());
        _bar0 = (nint)mapping;
        _bar0Length = bar0.Size;
    }

    /// <summary>Unmaps BAR0, turns bus mastering off and closes the device.</summary>
    public void Dispose()
    {
        Interrupts?.Dispose();   // MSI-X off before the eventfds and the device go
        if (_bar0 != 0) LibC.munmap((void*)_bar0, (size_t)_bar0Length);
        _bar0 = 0;
        if (_fd >= 0)
        {
            // Stop the device from issuing DMA into memory we are about to free; ignore failures on the way out.
            ushort command;
            if (LibC.pread(_fd, &command, 2, (long)_configOffset + PciCommandOffset) == 2)
            {
                command &= unchecked((ushort)~CommandBusMaster);
                LibC.pwrite(_fd, &command, 2, (long)_configOffset + PciCommandOffset);
            }
        }
        VfioSyscalls.Close(_fd);
        _fd = -1;
    }
}
