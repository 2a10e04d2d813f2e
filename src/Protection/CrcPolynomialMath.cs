namespace PolledNvme.Protection;

/// <summary>
/// Carry-less polynomial arithmetic over GF(2) used to derive every folding, Barrett and
/// stream-shift constant from a CRC polynomial at start-up (nothing is typed in).
/// </summary>
/// <remarks>
/// Polynomials are held in "normal" bit order (bit i is the coefficient of x^i). A CRC of
/// width n with polynomial P is run by the vector kernels as a 64-bit CRC with
/// P' = P·x^(64−n): <c>X·x^64 mod P' = x^(64−n)·(X·x^n mod P)</c>, so one set of 64-bit
/// kernels serves CRC-16, CRC-32 and CRC-64 and the n-bit result is read out of the 64-bit
/// register.
/// </remarks>
internal static class CrcPolynomialMath
{
    /// <summary>x^<paramref name="exponent"/> mod P for a polynomial of degree <paramref name="width"/> (implicit top term).</summary>
    public static ulong XPowMod(int exponent, ulong polyLow, int width)
    {
        ulong mask = width == 64 ? ulong.MaxValue : (1UL << width) - 1;
        ulong r = 1;
        for (int i = 0; i < exponent; i++)
            r = MultiplyByX(r, polyLow, width, mask);
        return r;
    }

    /// <summary>r·x mod P, for r already reduced (degree &lt; width).</summary>
    public static ulong MultiplyByX(ulong r, ulong polyLow, int width, ulong mask)
    {
        bool carry = ((r >> (width - 1)) & 1) != 0;
        r = (r << 1) & mask;
        return carry ? r ^ polyLow : r;
    }

    /// <summary>a·b mod P for a, b already reduced (degree &lt; width): one shift-and-add step per bit of b.</summary>
    public static ulong MultiplyMod(ulong a, ulong b, ulong polyLow, int width)
    {
        ulong mask = width == 64 ? ulong.MaxValue : (1UL << width) - 1;
        ulong r = 0;
        for (int i = width - 1; i >= 0; i--)
        {
            r = MultiplyByX(r, polyLow, width, mask);
            if (((b >> i) & 1) != 0)
                r ^= a;
        }
        return r;
    }

    /// <summary>
    /// floor(x^128 / P') for a degree-64 polynomial P' = x^64 + <paramref name="polyLow"/>: the
    /// Barrett quotient μ (degree 64, so 65 bits).
    /// </summary>
    public static UInt128 BarrettQuotient128(ulong polyLow)
    {
        UInt128 divisor = ((UInt128)1 << 64) | polyLow;
        UInt128 remainder = 0, quotient = 0;
        // Long division of x^128 (a one followed by 128 zeros), one dividend bit per step.
        for (int position = 128; position >= 0; position--)
        {
            remainder = (remainder << 1) | (position == 128 ? UInt128.One : UInt128.Zero);
            quotient <<= 1;
            if (((remainder >> 64) & 1) != 0)
            {
                remainder ^= divisor;
                quotient |= 1;
            }
        }
        return quotient;
    }

    /// <summary>Reverses the bit order of a 64-bit value (bit 0 ↔ bit 63).</summary>
    public static ulong Reflect64(ulong v)
    {
        ulong r = 0;
        for (int i = 0; i < 64; i++)
        {
            r = (r << 1) | (v & 1);
            v >>= 1;
        }
        return r;
    }

    /// <summary>Reverses the low <paramref name="width"/> bits of <paramref name="v"/>.</summary>
    public static ulong Reflect(ulong v, int width) => Reflect64(v) >> (64 - width);
}
