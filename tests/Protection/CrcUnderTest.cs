using PolledNvme.Protection;

namespace PolledNvme.Tests.Protection;

/// <summary>
/// One CRC as the shared test matrix sees it: values widened to ulong, the catalogue
/// parameters for the bit-serial reference, and the spec's known answers.
/// </summary>
public interface ICrcUnderTest
{
    string Name { get; }
    CrcReferenceParameters Parameters { get; }
    ulong CheckValue { get; }

    /// <summary>Spec §1 4 KiB known answers: all 00h, all FFh, 00h..FFh repeating, FFh..00h repeating.</summary>
    (ulong Zeros, ulong Ones, ulong Incrementing, ulong Decrementing) KnownAnswers4KiB { get; }

    /// <summary>Further spec §1 known answers (may be empty).</summary>
    IEnumerable<(string Label, byte[] Data, ulong Expected)> ExtraKnownAnswers { get; }

    /// <summary>Every code path this CRC defines (whether or not this machine runs it).</summary>
    IReadOnlyList<CrcKernel> DefinedKernels { get; }

    bool IsSupported(CrcKernel kernel);
    CrcKernel Kernel { get; }
    ulong Compute(ReadOnlySpan<byte> data);
    ulong Update(ulong previous, ReadOnlySpan<byte> data);
    ulong Update(ulong previous, ReadOnlySpan<byte> data, CrcKernel kernel);
    void ComputeBlocks(ReadOnlySpan<byte> source, int blockLength, int stride, ulong[] crcs, CrcKernel? kernel);
}

/// <summary>Catalogue (Rocksoft-model) parameters, as in spec §1's table.</summary>
public readonly record struct CrcReferenceParameters(int Width, ulong NormalPolynomial, ulong Init, bool Reflected, ulong XorOut);

/// <summary>
/// The test oracle: a CRC computed one message bit at a time straight from the catalogue
/// polynomial (no tables, no reflected constants), as the catalogue defines it.
/// </summary>
public sealed class BitSerialCrc(CrcReferenceParameters p)
{
    private readonly ulong _mask = p.Width == 64 ? ulong.MaxValue : (1UL << p.Width) - 1;
    private readonly ulong _top = 1UL << (p.Width - 1);

    /// <summary>The shift register before any data.</summary>
    public ulong Start => p.Init;

    /// <summary>Shifts one byte into the register (least significant bit first for reflected CRCs).</summary>
    public ulong Step(ulong register, byte b)
    {
        for (int i = 0; i < 8; i++)
        {
            int bit = p.Reflected ? (b >> i) & 1 : (b >> (7 - i)) & 1;
            bool feedback = ((register & _top) != 0) ^ (bit == 1);
            register = (register << 1) & _mask;
            if (feedback)
                register ^= p.NormalPolynomial;
        }
        return register;
    }

    /// <summary>The CRC value of a register.</summary>
    public ulong Finish(ulong register)
    {
        if (p.Reflected)
        {
            ulong r = 0;
            for (int i = 0; i < p.Width; i++)
                r |= ((register >> i) & 1) << (p.Width - 1 - i);
            register = r;
        }
        return register ^ p.XorOut;
    }

    public ulong Compute(ReadOnlySpan<byte> data)
    {
        ulong r = Start;
        foreach (byte b in data)
            r = Step(r, b);
        return Finish(r);
    }

    /// <summary>CRC of every prefix: result[n] is the CRC of data[..n].</summary>
    public ulong[] PrefixCrcs(ReadOnlySpan<byte> data)
    {
        var result = new ulong[data.Length + 1];
        ulong r = Start;
        result[0] = Finish(r);
        for (int i = 0; i < data.Length; i++)
        {
            r = Step(r, data[i]);
            result[i + 1] = Finish(r);
        }
        return result;
    }
}
