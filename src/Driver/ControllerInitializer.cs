using System.Runtime.InteropServices;
using PolledNvme.Driver.Spec;
using PolledNvme.Driver.Transport;
using PolledNvme.Queues;

namespace PolledNvme.Driver;

/// <summary>
/// The controller initialization state machine (NVMe Base 2.0 §3.5.1) and reset: disable
/// and wait RDY=0, admin queue registers, CC (IOSQES 6, IOCQES 4, MPS, CSS NVM) with EN=1 and
/// wait RDY=1, Identify Controller, Set Features Number of Queues, Host Behavior Support
/// (LBAFEE=1 when CTRATT.ELBAS), active namespace list, and each namespace's Identify pages.
/// </summary>
public sealed partial class NvmeController
{
    private const int HostPageShift = 12;   // 4 KiB: the host's page size, CC.MPS = 0

    private const int AdminMaxTransferBytes = 64 * 1024;   // Identify pages and logs are small; room for PRP lists of big logs

    private void Initialize()
    {
        PageSize = 1 << HostPageShift;
        // The admin queue first: on fabrics, properties are read through it (Connect before any Property Get).
        TransportQueuePair adminPair = Transport.CreateAdminQueuePair(new QueuePairSettings(0, _options.AdminQueueEntries, Memory, PageSize, AdminMaxTransferBytes));
        try
        {
            _admin = new AdminQueue(Transport, adminPair, _registers, Memory, _options.AdminTimeout);
        }
        catch
        {
            adminPair.Dispose();
            throw;
        }
        Transport.ConnectAdminQueue(_admin);

        ControllerCapabilities cap = _registers.Capabilities;
        if ((cap.Css & 1) == 0)
            throw new NotSupportedException($"Controller {Address} does not support the NVM command set (CAP.CSS = 0x{cap.Css:X2}).");
        if (cap.Mpsmin > HostPageShift - 12 || cap.Mpsmax < HostPageShift - 12)
            throw new NotSupportedException($"Controller {Address} supports memory pages of 2^{12 + cap.Mpsmin}..2^{12 + cap.Mpsmax} bytes; this driver uses 4096.");
        _registers.Disable();
        EnableAndIdentify();
    }

    /// <summary>Enables the controller with the admin queue and (re-)reads everything the driver derives from Identify.</summary>
    private void EnableAndIdentify()
    {
        Transport.BeforeEnable(_admin.Pair);
        _registers.Enable(mps: 0);

        using DmaBuffer page = Memory.Allocate(IdentifyController.Size);
        _admin.Execute(AdminCommandBuilder.Identify(IdentifyCns.Controller, 0), page);
        _identify = MemoryMarshal.Read<IdentifyController>(page.Span);
        int mdtsBytes = _identify.Mdts == 0
            ? _options.MaxTransferBytesWhenUnlimited
            : (int)Math.Min(int.MaxValue / 2, (1L << _identify.Mdts) * (1L << (12 + Capabilities.Mpsmin)));
        MaxTransferBytes = Math.Min(mdtsBytes, Transport.MaxTransferBytes);

        SetNumberOfQueues();
        ConfigureShadowDoorbells();
        ExtendedLbaFormatsEnabled = false;
        if (_identify.ExtendedLbaFormatsSupported)
            EnableExtendedLbaFormats();
        ReadNamespaces(page);
    }

    /// <summary>Number of Queues (FID 07h, §5.27.1.5): asks for NSQR/NCQR (0's based), DW0 says what was granted.</summary>
    private void SetNumberOfQueues()
    {
        uint wanted = (uint)Math.Clamp(Transport.RequestedIoQueues ?? _options.RequestedIoQueues, 1, 65535) - 1;
        CompletionEntry cqe = _admin.Execute(AdminCommandBuilder.SetFeatures(FeatureId.NumberOfQueues, wanted | (wanted << 16)));
        int granted = (int)Math.Min(cqe.Result & 0xFFFF, cqe.Result >> 16) + 1;
        MaxIoQueuePairs = Math.Min(granted, (int)wanted + 1);
        lock (_queueIdLock)
        {
            if (_queueIdsInUse.Length != MaxIoQueuePairs + 1)
            {
                bool[] ids = new bool[MaxIoQueuePairs + 1];
                Array.Copy(_queueIdsInUse, ids, Math.Min(_queueIdsInUse.Length, ids.Length));
                _queueIdsInUse = ids;
            }
        }
    }

    /// <summary>
    /// Doorbell Buffer Config (§5.9) when the controller offers it (OACS bit 8), the transport has
    /// doorbells, and neither the options nor the device string (<c>dbbuf=0</c>) opted out. After
    /// every enable: a controller reset clears it.
    /// </summary>
    private void ConfigureShadowDoorbells()
    {
        ShadowDoorbellsEnabled = false;
        bool wanted = Transport.ShadowDoorbellsRequested ?? _options.ShadowDoorbells;
        if (!wanted || !Transport.SupportsShadowDoorbells || !_identify.DoorbellBufferConfigSupported)
            return;
        if (_shadowDoorbells is { } old && old.QueuePairs < MaxIoQueuePairs)
        {
            _shadowDoorbells = null;
            old.Dispose();
        }
        _shadowDoorbells ??= new ShadowDoorbells(Memory, Capabilities.Dstrd, MaxIoQueuePairs);
        ShadowDoorbellsEnabled = Transport.EnableShadowDoorbells(_admin, _shadowDoorbells);
    }

    /// <summary>Host Behavior Support (FID 16h, §5.27.1.18): byte 2 LBAFEE = 1 enables extended LBA formats (PI.md §3).</summary>
    private void EnableExtendedLbaFormats()
    {
        using DmaBuffer hbs = Memory.Allocate(512);
        hbs.Span[2] = 1;
        _admin.Execute(AdminCommandBuilder.SetFeatures(FeatureId.HostBehaviorSupport, 0), hbs, 512);
        ExtendedLbaFormatsEnabled = true;
    }

    /// <summary>Active namespace list (CNS 02h), then Identify Namespace (CNS 00h) and NVM CS Identify Namespace (CNS 05h, CSI 0) for each.</summary>
    private void ReadNamespaces(DmaBuffer page)
    {
        page.Clear();
        _admin.Execute(AdminCommandBuilder.Identify(IdentifyCns.ActiveNamespaceList, 0), page);
        var ids = new List<uint>();
        ReadOnlySpan<uint> list = MemoryMarshal.Cast<byte, uint>(page.Span);
        for (int i = 0; i < list.Length && list[i] != 0; i++)
            ids.Add(list[i]);

        var updated = new List<Namespace>(ids.Count);
        foreach (uint nsid in ids)
        {
            (IdentifyNamespace identify, NvmIdentifyNamespace nvm) = ReadNamespacePages(nsid, page);
            Namespace? existing = _namespaces.Find(n => n.Id == nsid);
            if (existing is not null)
            {
                existing.Update(identify, nvm, ExtendedLbaFormatsEnabled);
                updated.Add(existing);
            }
            else
                updated.Add(new Namespace(this, nsid, identify, nvm, ExtendedLbaFormatsEnabled));
        }
        _namespaces.Clear();
        _namespaces.AddRange(updated);
    }

    private (IdentifyNamespace, NvmIdentifyNamespace) ReadNamespacePages(uint nsid, DmaBuffer page)
    {
        page.Clear();
        _admin.Execute(AdminCommandBuilder.Identify(IdentifyCns.Namespace, nsid), page);
        IdentifyNamespace identify = MemoryMarshal.Read<IdentifyNamespace>(page.Span);
        NvmIdentifyNamespace nvm = default;
        if (ExtendedLbaFormatsEnabled)
        {
            page.Clear();
            _admin.Execute(AdminCommandBuilder.Identify(IdentifyCns.CommandSetNamespace, nsid, csi: 0), page);
            nvm = MemoryMarshal.Read<NvmIdentifyNamespace>(page.Span);
        }
        return (identify, nvm);
    }

    /// <summary>Re-reads one namespace's Identify pages (after Format NVM).</summary>
    internal void RefreshNamespace(uint nsid)
    {
        using DmaBuffer page = Memory.Allocate(IdentifyNamespace.Size);
        if (nsid == 0xFFFFFFFF)
        {
            ReadNamespaces(page);
            return;
        }
        Namespace ns = GetNamespace(nsid);
        (IdentifyNamespace identify, NvmIdentifyNamespace nvm) = ReadNamespacePages(nsid, page);
        ns.Update(identify, nvm, ExtendedLbaFormatsEnabled);
    }

    /// <summary>
    /// Controller-level reset (§3.7.2): disables the controller, fails every outstanding
    /// command on every queue pair (status AbortedSqDeletion; callbacks and continuations run on
    /// the calling thread), re-initializes the controller and re-creates the existing I/O queue
    /// pairs, which stay usable. The commands are failed only after the controller stopped, so
    /// their buffers are not reused while it could still reach them. Call it while no other
    /// thread submits on those queue pairs (e.g. from their owning thread, or with them
    /// quiesced). Also the way out of Controller Fatal Status. On NVMe over Fabrics it reconnects:
    /// the old association ends (every connection closes) and a new one is made (admin Connect
    /// with a new controller ID, then each I/O queue's Connect); it throws if the target cannot
    /// be reached, and can be called again later.
    /// </summary>
    public void Reset()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        long started = TraceResetStart();
        try
        {
            TraceResetStop(started, ResetAndReconnect());
        }
        catch (Exception e)
        {
            TraceResetFailed(started, e);
            throw;
        }
    }

    /// <summary>The body of <see cref="Reset"/>; returns how many commands it failed.</summary>
    private int ResetAndReconnect()
    {
        int failed = 0;
        IoQueuePair[] pairs;
        lock (_queueIdLock)
            pairs = _queuePairs.ToArray();
        bool stopped = false;
        try
        {
            Transport.StopForReset(_registers);
            stopped = true;
        }
        finally
        {
            // Even when the controller does not stop, nothing may wait forever on it; the buffers
            // of those commands then stay out of the pool (it might still reach them).
            foreach (IoQueuePair pair in pairs)
            {
                failed += pair.FailInFlight(NvmeStatus.AbortedSqDeletion, stopped);
                if (stopped)
                    pair.ReleaseHeldLeases();
                pair.ForgetControllerQueues();
            }
        }
        _admin.ResetAfterDisable();
        Transport.ConnectAdminQueue(_admin);
        EnableAndIdentify();
        foreach (IoQueuePair pair in pairs)
            pair.CreateOnController();
        return failed;
    }
}
