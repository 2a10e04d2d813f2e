using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace PolledNvme.Bench.Micro;

/// <summary>Adds a GB/s column computed from the benchmark's <c>Size</c> (bytes per operation).</summary>
public sealed class ThroughputConfig : ManualConfig
{
    public ThroughputConfig() => AddColumn(new ThroughputColumn());

    private sealed class ThroughputColumn : IColumn
    {
        public string Id => "GBps";
        public string ColumnName => "GB/s";
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => "Bytes processed per nanosecond (10^9 bytes/s)";
        public bool IsAvailable(Summary summary) => true;
        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            var report = summary[benchmarkCase];
            if (report?.ResultStatistics is not { } stats)
                return "-";
            object? size = benchmarkCase.Parameters.Items.FirstOrDefault(p => p.Name == "Size")?.Value;
            size ??= benchmarkCase.Descriptor.Type.GetProperty("Size")?.GetValue(Activator.CreateInstance(benchmarkCase.Descriptor.Type));
            return size is int bytes ? (bytes / stats.Mean).ToString("F2") : "-";
        }
    }
}
