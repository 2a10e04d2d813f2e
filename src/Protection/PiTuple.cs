namespace PolledNvme.Protection;

/// <summary>
/// One PI tuple, decoded. On the wire every field is big-endian and the layout follows the
/// guard format (PI.md §1): 16b guard = bytes 0-1 guard, 2-3 application tag, 4-7 32-bit
/// storage+reference space; 32b = 0-3 guard, 4-5 application tag, 6-15 80-bit space;
/// 64b = 0-7 guard, 8-9 application tag, 10-15 48-bit space. The STS most-significant
/// bits of the space are the storage tag, the rest the reference tag (PI.md §2).
/// </summary>
/// <param name="Guard">The guard (CRC), zero-extended.</param>
/// <param name="ApplicationTag">The application tag.</param>
/// <param name="StorageTag">The storage tag (STS bits; 0 when STS is 0).</param>
/// <param name="ReferenceTag">The reference tag (space bits - STS bits).</param>
public readonly record struct PiTuple(ulong Guard, ushort ApplicationTag, ulong StorageTag, ulong ReferenceTag)
{
    /// <summary>Decodes the tuple at the start of <paramref name="tuple"/>.</summary>
    /// <param name="tuple">At least the tuple size of <paramref name="format"/> (8 or 16 bytes).</param>
    /// <param name="format">The guard format.</param>
    /// <param name="storageTagSize">STS, in the range the format allows.</param>
    public static PiTuple Read(ReadOnlySpan<byte> tuple, PiGuardFormat format, int storageTagSize)
    {
        int referenceTagBits = CheckLayout(tuple.Length, format, storageTagSize, nameof(tuple));
        return format switch
        {
            PiGuardFormat.Guard16 => PiTupleCodec<Guard16, ushort>.Read(tuple, referenceTagBits),
            PiGuardFormat.Guard32 => PiTupleCodec<Guard32, uint>.Read(tuple, referenceTagBits),
            _ => PiTupleCodec<Guard64, ulong>.Read(tuple, referenceTagBits),
        };
    }

    /// <summary>Encodes this tuple at the start of <paramref name="tuple"/>.</summary>
    /// <exception cref="ArgumentException">A field does not fit its width in this format and STS.</exception>
    public void Write(Span<byte> tuple, PiGuardFormat format, int storageTagSize)
    {
        int referenceTagBits = CheckLayout(tuple.Length, format, storageTagSize, nameof(tuple));
        int guardBits = PiGuardFormats.GuardSize(format) * 8;
        if (guardBits < 64 && Guard >> guardBits != 0)
            throw new ArgumentException($"Guard 0x{Guard:X} does not fit the {guardBits}-bit guard of the {PiGuardFormats.Name(format)} format.", nameof(Guard));
        if (storageTagSize < 64 && StorageTag >> storageTagSize != 0)
            throw new ArgumentException($"Storage tag 0x{StorageTag:X} does not fit in STS = {storageTagSize} bits.", nameof(StorageTag));
        if (referenceTagBits < 64 && ReferenceTag >> referenceTagBits != 0)
            throw new ArgumentException($"Reference tag 0x{ReferenceTag:X} does not fit in {referenceTagBits} bits (space bits - STS).", nameof(ReferenceTag));
        switch (format)
        {
            case PiGuardFormat.Guard16: PiTupleCodec<Guard16, ushort>.Write(tuple, this, referenceTagBits); break;
            case PiGuardFormat.Guard32: PiTupleCodec<Guard32, uint>.Write(tuple, this, referenceTagBits); break;
            default: PiTupleCodec<Guard64, ulong>.Write(tuple, this, referenceTagBits); break;
        }
    }

    /// <summary>Checks format, STS and buffer length; returns the reference tag width.</summary>
    private static int CheckLayout(int length, PiGuardFormat format, int storageTagSize, string bufferName)
    {
        if (!PiGuardFormats.IsDefined(format))
            throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown PI guard format (PIF must be 0, 1 or 2).");
        int min = PiGuardFormats.MinStorageTagSize(format), max = PiGuardFormats.MaxStorageTagSize(format);
        if (storageTagSize < min || storageTagSize > max)
            throw new ArgumentOutOfRangeException(nameof(storageTagSize), storageTagSize,
                $"STS must be {min}..{max} for the {PiGuardFormats.Name(format)} format.");
        int tupleSize = PiGuardFormats.TupleSize(format);
        if (length < tupleSize)
            throw new ArgumentException($"A {PiGuardFormats.Name(format)} tuple needs {tupleSize} bytes; the buffer has {length}.", bufferName);
        return PiGuardFormats.SpaceBits(format) - storageTagSize;
    }
}
