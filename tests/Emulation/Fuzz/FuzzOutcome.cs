using PolledNvme.Driver.Spec;

namespace PolledNvme.Tests.Emulation.Fuzz;

/// <summary>
/// The statuses a fuzzed command may complete with, as flags. Each flag is named exactly like
/// <see cref="NvmeStatus.NameOf"/> names the status, so the driver's table stays the one place
/// that maps SCT/SC to names; a status with no flag here is one no command may return.
/// </summary>
[Flags]
internal enum Outcome : ulong
{
    None = 0,
    Success = 1ul << 0,
    InvalidCommandOpcode = 1ul << 1,
    InvalidFieldInCommand = 1ul << 2,
    DataTransferError = 1ul << 3,
    CommandAbortRequested = 1ul << 4,
    AbortedSqDeletion = 1ul << 5,
    InvalidNamespaceOrFormat = 1ul << 6,
    CommandSequenceError = 1ul << 7,
    PrpOffsetInvalid = 1ul << 8,
    LbaOutOfRange = 1ul << 9,
    CompletionQueueInvalid = 1ul << 10,
    InvalidQueueIdentifier = 1ul << 11,
    InvalidQueueSize = 1ul << 12,
    InvalidLogPage = 1ul << 13,
    InvalidFormat = 1ul << 14,
    InvalidQueueDeletion = 1ul << 15,
    FeatureIdentifierNotSaveable = 1ul << 16,
    InvalidProtectionInformation = 1ul << 17,
    AsynchronousEventRequestLimitExceeded = 1ul << 18,
    EndToEndGuardCheckError = 1ul << 19,
    EndToEndApplicationTagCheckError = 1ul << 20,
    EndToEndReferenceTagCheckError = 1ul << 21,
    EndToEndStorageTagCheckError = 1ul << 22,
    CompareFailure = 1ul << 23,
    InvalidInterruptVector = 1ul << 24,
}

internal static class Outcomes
{
    /// <summary>The flag of a completion's 15-bit status (None when no command may return it) and its spec name.</summary>
    public static Outcome Classify(ushort status, out string name)
    {
        var s = new NvmeStatus(status);
        name = NvmeStatus.NameOf(s.Type, s.Code);
        return Enum.TryParse(name, out Outcome outcome) ? outcome : Outcome.None;
    }

    /// <summary>The flags as a readable list.</summary>
    public static string Describe(Outcome outcomes) => outcomes == Outcome.None ? "nothing" : outcomes.ToString();
}
