namespace PolledNvme.Bench.Tools;

/// <summary>
/// The nvme-cli 2.x commands pnvme does not have, each with why and what to use instead, so that
/// an nvme-cli command line gets an answer rather than "unknown command". docs/PNVME.md lists the
/// same (a test keeps the two together).
/// </summary>
internal static class NvmeCliCommands
{
    private const string NoNamespaceManagement = "the emulated controller's namespaces are set by the device string (emu:PATH,lbads=..,ms=..,size=..), it has no Namespace Management / Attachment (OACS bit 3); on a real controller (pci:) admin-passthru sends the command";
    private const string Passthru = "not decoded by pnvme; admin-passthru reads the page (Identify: --opcode=6 --cdw10=CNS --data-len=4096 -r)";
    private const string NotReported = "not implemented by pnvme nor by its emulated controller; on a real controller (pci:) admin-passthru sends the command";
    private const string NoKernelDevice = "pnvme drives the controller itself from user space: there is no kernel device, subsystem or sysfs entry";
    private const string NoFabrics = "NVMe over Fabrics host commands: pnvme connects by itself, the device string names the controller (tcp:ADDR:PORT/SUBNQN[,hostnqn=,hdgst=1,ddgst=1]); pnvme discover reads a discovery log";

    /// <summary>Command → why pnvme does not have it.</summary>
    public static readonly IReadOnlyDictionary<string, string> Refused = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["list-subsys"] = NoKernelDevice + "; pnvme list shows the NVMe PCI functions and their IOMMU groups",
        ["list-ns"] = Passthru,
        ["list-ctrl"] = Passthru,
        ["list-secondary"] = NotReported + " (no virtualization management)",
        ["list-endgrp"] = NotReported + " (no endurance groups)",
        ["id-ns-granularity"] = NotReported + " (no namespace granularity list)",
        ["id-ns-lba-format"] = Passthru,
        ["nvm-id-ctrl"] = Passthru,
        ["nvm-id-ns-lba-format"] = Passthru,
        ["primary-ctrl-caps"] = NotReported + " (no virtualization management)",
        ["cmdset-ind-id-ns"] = Passthru,
        ["ns-descs"] = Passthru,
        ["id-nvmset"] = NotReported + " (no NVM sets)",
        ["id-uuid"] = NotReported + " (no UUID list)",
        ["id-iocs"] = Passthru,
        ["id-domain"] = NotReported + " (no domains)",
        ["create-ns"] = NoNamespaceManagement,
        ["delete-ns"] = NoNamespaceManagement,
        ["attach-ns"] = NoNamespaceManagement,
        ["detach-ns"] = NoNamespaceManagement,
        ["get-ns-id"] = NoKernelDevice + "; the namespace is chosen with -n",
        ["telemetry-log"] = NotReported + " (no telemetry log)",
        ["fw-log"] = "not decoded by pnvme: get-log -i 3 -l 512 dumps the firmware slot log",
        ["changed-ns-list-log"] = NotReported + " (namespaces do not change)",
        ["ana-log"] = NotReported + " (no ANA)",
        ["effects-log"] = NotReported + " (no commands supported and effects log)",
        ["endurance-log"] = NotReported + " (no endurance groups)",
        ["predictable-lat-log"] = NotReported + " (no predictable latency mode)",
        ["pred-lat-event-agg-log"] = NotReported + " (no predictable latency mode)",
        ["persistent-event-log"] = NotReported + " (no persistent event log)",
        ["endurance-event-agg-log"] = NotReported + " (no endurance groups)",
        ["lba-status-log"] = NotReported + " (no LBA status)",
        ["resv-notif-log"] = NotReported + " (no reservations)",
        ["boot-part-log"] = NotReported + " (no boot partitions)",
        ["device-self-test"] = NotReported + " (no device self-test, OACS bit 4)",
        ["self-test-log"] = NotReported + " (no device self-test)",
        ["supported-log-pages"] = NotReported + " (LPA bit 5 clear)",
        ["fid-support-effects-log"] = NotReported,
        ["mi-cmd-support-effects-log"] = NotReported,
        ["media-unit-stat-log"] = NotReported,
        ["supported-cap-config-log"] = NotReported,
        ["set-property"] = NoFabrics + " (PCIe controllers have registers, not properties)",
        ["get-property"] = NoFabrics + " (PCIe controllers have registers, not properties)",
        ["fw-commit"] = NotReported + " (firmware slot 1 is read-only, no firmware commands)",
        ["fw-download"] = NotReported + " (firmware slot 1 is read-only, no firmware commands)",
        ["security-send"] = NotReported + " (no security protocols)",
        ["security-recv"] = NotReported + " (no security protocols)",
        ["get-lba-status"] = NotReported + " (no Get LBA Status)",
        ["capacity-mgmt"] = NotReported + " (no capacity management)",
        ["resv-acquire"] = NotReported + " (no reservations)",
        ["resv-register"] = NotReported + " (no reservations)",
        ["resv-release"] = NotReported + " (no reservations)",
        ["resv-report"] = NotReported + " (no reservations)",
        ["copy"] = NotReported + " (no Copy command)",
        ["write-uncor"] = NotReported + " (no Write Uncorrectable); the emulated controller's fault injection corrupts blocks instead",
        ["sanitize"] = NotReported + " (no sanitize); format --ses=1 erases user data",
        ["sanitize-log"] = NotReported + " (no sanitize)",
        ["reset"] = "pnvme resets and shuts the controller down as it opens and closes it; a reset on its own would reach nothing that outlives the command",
        ["subsystem-reset"] = NotReported + " (no NVM subsystem reset)",
        ["ns-rescan"] = NoKernelDevice,
        ["show-regs"] = NoKernelDevice + "; pnvme id-ctrl shows what the registers say through Identify",
        ["connect-all"] = NoFabrics,
        ["connect"] = NoFabrics,
        ["disconnect"] = NoFabrics,
        ["disconnect-all"] = NoFabrics,
        ["config"] = NoFabrics,
        ["gen-hostnqn"] = NoFabrics,
        ["show-hostnqn"] = NoFabrics,
        ["gen-dhchap-key"] = NoFabrics,
        ["check-dhchap-key"] = NoFabrics,
        ["gen-tls-key"] = NoFabrics,
        ["check-tls-key"] = NoFabrics,
        ["dir-receive"] = NotReported + " (no directives)",
        ["dir-send"] = NotReported + " (no directives)",
        ["virt-mgmt"] = NotReported + " (no virtualization management)",
        ["rpmb"] = NotReported + " (no replay protected memory block)",
        ["lockdown"] = NotReported + " (no command and feature lockdown)",
        ["dim"] = NoFabrics,
        ["show-topology"] = NoKernelDevice,
        ["io-mgmt-recv"] = NotReported + " (no I/O management)",
        ["io-mgmt-send"] = NotReported + " (no I/O management)",
    };

    /// <summary>What to say about an nvme-cli command pnvme does not have (after its name), or null when it is not one.</summary>
    public static string? Explain(string command)
        => Refused.TryGetValue(command, out string? why) ? $"is an nvme-cli command pnvme does not have: {why}" : null;
}
