using System.Runtime.InteropServices;
using PolledNvme.Driver.Spec;

namespace PolledNvme.Bench.Tools;

/// <summary><c>smart-log</c> output: nvme-cli's text lines (tab-aligned as it prints them) and JSON members.</summary>
internal static class SmartLogPrinter
{
    /// <summary>Prints a raw 512-byte SMART / Health page.</summary>
    public static void Print(TextWriter o, byte[] page, uint nsid, string device, ToolOutput format, bool human)
    {
        if (format == ToolOutput.Binary)
        {
            ToolContext.WriteBinary(o, page);
            return;
        }
        var s = MemoryMarshal.Read<SmartHealthLog>(page);
        UInt128 Wide(ulong low, ulong high) => new(high, low);
        var counters = new (string Json, string Text, UInt128 Value)[]
        {
            ("data_units_read", "Data Units Read\t\t\t\t", Wide(s.DataUnitsRead, s.DataUnitsReadHigh)),
            ("data_units_written", "Data Units Written\t\t\t", Wide(s.DataUnitsWritten, s.DataUnitsWrittenHigh)),
            ("host_read_commands", "host_read_commands\t\t\t", Wide(s.HostReadCommands, s.HostReadCommandsHigh)),
            ("host_write_commands", "host_write_commands\t\t\t", Wide(s.HostWriteCommands, s.HostWriteCommandsHigh)),
            ("controller_busy_time", "controller_busy_time\t\t\t", Wide(s.ControllerBusyTime, s.ControllerBusyTimeHigh)),
            ("power_cycles", "power_cycles\t\t\t\t", Wide(s.PowerCycles, s.PowerCyclesHigh)),
            ("power_on_hours", "power_on_hours\t\t\t\t", Wide(s.PowerOnHours, s.PowerOnHoursHigh)),
            ("unsafe_shutdowns", "unsafe_shutdowns\t\t\t", Wide(s.UnsafeShutdowns, s.UnsafeShutdownsHigh)),
            ("media_errors", "media_errors\t\t\t\t", Wide(s.MediaErrors, s.MediaErrorsHigh)),
            ("num_err_log_entries", "num_err_log_entries\t\t\t", Wide(s.ErrorLogEntries, s.ErrorLogEntriesHigh)),
        };
        int cw = s.CriticalWarning;
        if (format == ToolOutput.Json)
        {
            ToolContext.WriteJson(o, w =>
            {
                w.WriteStartObject();
                if (human)
                {
                    w.WriteStartObject("critical_warning");
                    w.WriteNumber("value", cw);
                    w.WriteNumber("available_spare", cw & 1);
                    w.WriteNumber("temp_threshold", (cw >> 1) & 1);
                    w.WriteNumber("reliability_degraded", (cw >> 2) & 1);
                    w.WriteNumber("ro", (cw >> 3) & 1);
                    w.WriteNumber("vmbu_failed", (cw >> 4) & 1);
                    w.WriteNumber("pmr_ro", (cw >> 5) & 1);
                    w.WriteEndObject();
                }
                else
                {
                    w.WriteNumber("critical_warning", cw);
                }
                w.WriteNumber("temperature", s.CompositeTemperature);
                w.WriteNumber("avail_spare", s.AvailableSpare);
                w.WriteNumber("spare_thresh", s.AvailableSpareThreshold);
                w.WriteNumber("percent_used", s.PercentageUsed);
                w.WriteNumber("endurance_grp_critical_warning_summary", s.EnduranceGroupCriticalWarningSummary);
                foreach (var (json, _, value) in counters)
                    w.WriteString(json, value.ToString());
                w.WriteNumber("warning_temp_time", s.WarningTemperatureTime);
                w.WriteNumber("critical_comp_time", s.CriticalCompositeTemperatureTime);
                for (int i = 0; i < 8; i++)
                    if (s.GetTemperatureSensor(i) is var t and not 0)
                        w.WriteNumber($"temperature_sensor_{i + 1}", t);
                w.WriteNumber("thm_temp1_trans_count", s.ThermalTemperature1TransitionCount);
                w.WriteNumber("thm_temp2_trans_count", s.ThermalTemperature2TransitionCount);
                w.WriteNumber("thm_temp1_total_time", s.ThermalTemperature1TotalTime);
                w.WriteNumber("thm_temp2_total_time", s.ThermalTemperature2TotalTime);
                w.WriteEndObject();
            });
            return;
        }
        o.WriteLine($"Smart Log for NVME device:{device} namespace-id:{nsid:x}");
        o.WriteLine($"critical_warning\t\t\t: {CliText.Hex((ulong)cw)}");
        if (human)
        {
            o.WriteLine($"      Available Spare[0]             : {cw & 1}");
            o.WriteLine($"      Temp. Threshold[1]             : {(cw >> 1) & 1}");
            o.WriteLine($"      NVM subsystem Reliability[2]   : {(cw >> 2) & 1}");
            o.WriteLine($"      Read-only[3]                   : {(cw >> 3) & 1}");
            o.WriteLine($"      Volatile mem. backup failed[4] : {(cw >> 4) & 1}");
            o.WriteLine($"      Persistent Mem. RO[5]          : {(cw >> 5) & 1}");
        }
        o.WriteLine($"temperature\t\t\t\t: {CliText.Kelvin(s.CompositeTemperature)}");
        o.WriteLine($"available_spare\t\t\t\t: {s.AvailableSpare}%");
        o.WriteLine($"available_spare_threshold\t\t: {s.AvailableSpareThreshold}%");
        o.WriteLine($"percentage_used\t\t\t\t: {s.PercentageUsed}%");
        o.WriteLine($"endurance group critical warning summary: {CliText.Hex(s.EnduranceGroupCriticalWarningSummary)}");
        for (int i = 0; i < counters.Length; i++)
        {
            var (_, text, value) = counters[i];
            // Data units are thousands of 512-byte units; nvme-cli adds the size they make.
            o.WriteLine(i < 2 ? $"{text}: {value} ({CliText.SiBytes(value, 1000 * 512)})" : $"{text}: {value}");
        }
        o.WriteLine($"Warning Temperature Time\t\t: {s.WarningTemperatureTime}");
        o.WriteLine($"Critical Composite Temperature Time\t: {s.CriticalCompositeTemperatureTime}");
        for (int i = 0; i < 8; i++)
            if (s.GetTemperatureSensor(i) is var t and not 0)
                o.WriteLine($"Temperature Sensor {i + 1}           : {CliText.Kelvin(t)}");
        o.WriteLine($"Thermal Management T1 Trans Count\t: {s.ThermalTemperature1TransitionCount}");
        o.WriteLine($"Thermal Management T2 Trans Count\t: {s.ThermalTemperature2TransitionCount}");
        o.WriteLine($"Thermal Management T1 Total Time\t: {s.ThermalTemperature1TotalTime}");
        o.WriteLine($"Thermal Management T2 Total Time\t: {s.ThermalTemperature2TotalTime}");
    }
}

/// <summary><c>error-log</c> output: nvme-cli's entry blocks and JSON members.</summary>
internal static class ErrorLogPrinter
{
    /// <summary>Prints raw error log entries (64 bytes each).</summary>
    public static void Print(TextWriter o, byte[] page, string device, ToolOutput format)
    {
        if (format == ToolOutput.Binary)
        {
            ToolContext.WriteBinary(o, page);
            return;
        }
        var entries = MemoryMarshal.Cast<byte, ErrorInformationEntry>(page.AsSpan(0, page.Length / ErrorInformationEntry.Size * ErrorInformationEntry.Size)).ToArray();
        if (format == ToolOutput.Json)
        {
            ToolContext.WriteJson(o, w =>
            {
                w.WriteStartObject();
                w.WriteStartArray("errors");
                foreach (var e in entries)
                {
                    w.WriteStartObject();
                    w.WriteNumber("error_count", e.ErrorCount);
                    w.WriteNumber("sqid", e.SqId);
                    w.WriteNumber("cmdid", e.CommandId);
                    w.WriteNumber("status_field", e.StatusAndPhase >> 1);
                    w.WriteNumber("phase_tag", e.StatusAndPhase & 1);
                    w.WriteNumber("parm_error_location", e.ParameterErrorLocation);
                    w.WriteNumber("lba", e.Lba);
                    w.WriteNumber("nsid", e.NamespaceId);
                    w.WriteNumber("vs", e.VendorSpecificLogPage);
                    w.WriteNumber("trtype", e.TransportType);
                    w.WriteNumber("cs", e.CommandSpecific);
                    w.WriteNumber("trtype_spec_info", e.TransportTypeSpecificInfo);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            });
            return;
        }
        o.WriteLine($"Error Log Entries for device:{device} entries:{entries.Length}");
        o.WriteLine(".................");
        for (int i = 0; i < entries.Length; i++)
        {
            var e = entries[i];
            o.WriteLine($" Entry[{i,2}]   ");
            o.WriteLine(".................");
            o.WriteLine($"error_count\t: {e.ErrorCount}");
            o.WriteLine($"sqid\t\t: {e.SqId}");
            o.WriteLine($"cmdid\t\t: {CliText.Hex(e.CommandId)}");
            o.WriteLine($"status_field\t: {CliText.Hex((ulong)(e.StatusAndPhase >> 1))}({e.Status})");
            o.WriteLine($"phase_tag\t: {CliText.Hex((ulong)(e.StatusAndPhase & 1))}");
            o.WriteLine($"parm_err_loc\t: {CliText.Hex(e.ParameterErrorLocation)}");
            o.WriteLine($"lba\t\t: {CliText.Hex(e.Lba)}");
            o.WriteLine($"nsid\t\t: {CliText.Hex(e.NamespaceId)}");
            o.WriteLine($"vs\t\t: {e.VendorSpecificLogPage}");
            o.WriteLine($"trtype\t\t: {TransportType(e.TransportType)}");
            o.WriteLine($"cs\t\t: {CliText.Hex(e.CommandSpecific)}");
            o.WriteLine($"trtype_spec_info: {CliText.Hex(e.TransportTypeSpecificInfo)}");
            o.WriteLine(".................");
        }
    }

    // Error Information Log Entry, Transport Type (NVMe Base 2.0 Fig 205).
    private static string TransportType(byte t) => t switch
    {
        0 => "The transport type is not indicated or the error is not transport related.",
        1 => "RDMA Transport error.",
        2 => "Fibre Channel Transport error.",
        3 => "TCP Transport error.",
        254 => "Intra-host Transport error.",
        _ => "Reserved",
    };
}
