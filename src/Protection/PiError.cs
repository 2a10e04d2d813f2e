namespace PolledNvme.Protection;

/// <summary>
/// The first PI check failure a verify found (like SPDK's <c>spdk_dif_error</c>): the block
/// index within the call, which check failed, and the expected and actual field values.
/// </summary>
/// <param name="BlockIndex">Index of the failing block, counted from the first block of the call.</param>
/// <param name="Kind">Which check failed.</param>
/// <param name="Expected">
/// The value the check wanted: the computed CRC (guard), the context's application tag,
/// the expected reference tag, or the context's storage tag.
/// </param>
/// <param name="Actual">The value found in the tuple.</param>
public readonly record struct PiError(int BlockIndex, PiErrorKind Kind, ulong Expected, ulong Actual)
{
    /// <summary>
    /// The NVMe status code of this failure (status code type 2h, Media and Data Integrity
    /// Errors; PI.md §6): 82h guard, 83h application tag, 84h reference tag, 88h storage tag;
    /// 0 when <see cref="Kind"/> is <see cref="PiErrorKind.None"/>.
    /// </summary>
    public byte NvmeStatusCode => Kind switch
    {
        PiErrorKind.Guard => 0x82,
        PiErrorKind.ApplicationTag => 0x83,
        PiErrorKind.ReferenceTag => 0x84,
        PiErrorKind.StorageTag => 0x88,
        _ => 0,
    };

    /// <summary>
    /// A readable description, e.g. "PI guard check failed at block 3: expected 0x1234, actual 0x5678".
    /// </summary>
    public override string ToString() => Kind switch
    {
        PiErrorKind.None => "PI checks passed",
        PiErrorKind.Guard => Describe("guard"),
        PiErrorKind.ApplicationTag => Describe("application tag"),
        PiErrorKind.ReferenceTag => Describe("reference tag"),
        PiErrorKind.StorageTag => Describe("storage tag"),
        _ => $"PI check of unknown kind {(byte)Kind} failed at block {BlockIndex}",
    };

    private string Describe(string field) =>
        $"PI {field} check failed at block {BlockIndex}: expected 0x{Expected:X}, actual 0x{Actual:X}";
}

/// <summary>Thrown by callers that prefer exceptions to <c>Verify</c>'s <see cref="PiError"/> result.</summary>
public sealed class ProtectionException : Exception
{
    /// <summary>Creates the exception with a general message.</summary>
    public ProtectionException() : base("A protection information check failed.") { }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public ProtectionException(string message) : base(message) { }

    /// <summary>Creates the exception with <paramref name="message"/> and the exception that caused it.</summary>
    public ProtectionException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates the exception for <paramref name="error"/>; the message is <see cref="PiError.ToString"/>.</summary>
    public ProtectionException(PiError error)
        : base(error.ToString())
    {
        Error = error;
    }

    /// <summary>The failure being reported.</summary>
    public PiError Error { get; }
}
