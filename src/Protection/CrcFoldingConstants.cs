using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static PolledNvme.Protection.CrcPolynomialMath;

namespace PolledNvme.Protection;

/// <summary>
/// Folding and Barrett constants of one CRC, derived from its polynomial at start-up.
/// </summary>
/// <remarks>
/// The kernels fold a 128-bit lane A forward by D bits as
/// <c>clmul(A.lo, K.lo) ^ clmul(A.hi, K.hi)</c>, so each constant pair holds the multiplier
/// for the low and the high quadword of a lane. In the reflected layout a lane's low
/// quadword holds the higher-degree half and every carry-less product carries one extra
/// factor x, hence the exponents one lower than in the normal layout:
/// <code>
///            K.lo                K.hi
/// reflected  x^(64+D-1) mod P'   x^(D-1) mod P'      (bit-reversed 64-bit)
/// normal     x^D mod P'          x^(64+D) mod P'
/// </code>
/// P' = P·x^(64−n) (see <see cref="CrcPolynomialMath"/>).
/// </remarks>
internal sealed unsafe class CrcFoldingConstants
{
    /// <summary>
    /// Longest fold distance kept, in 128-bit lanes: the final layer of a kernel folds up to
    /// eight 512-bit registers (32 lanes) onto the last lane.
    /// </summary>
    public const int MaxFoldLanes = 32;

    private readonly Vector128<ulong>[] _fold = new Vector128<ulong>[MaxFoldLanes + 1];

    // Fold pairs by descending distance, MaxFoldLanes − 1 down to 0 (distance 0: zero, the
    // last lane is added as it is), pinned so that a register's worth of consecutive pairs
    // loads as one vector. Never freed: one per CRC, alive as long as the process.
    private readonly Vector128<ulong>[] _byDistance = GC.AllocateArray<Vector128<ulong>>(MaxFoldLanes, pinned: true);
    private readonly Vector128<ulong>* _byDistanceBase;

    /// <summary>Whether the data is bit-reflected (CRC-32C, CRC-64) or normal (T10-DIF).</summary>
    public bool Reflected { get; }

    /// <summary>First reduction step: folds the high-degree quadword of the last lane by 128 bits.</summary>
    public Vector128<ulong> ReduceStep { get; }

    /// <summary>Barrett pair: quotient μ = floor(x^128 / P') and the polynomial P', laid out per bit order.</summary>
    public Vector128<ulong> Barrett { get; }

    /// <summary>
    /// Reflected layout only: all ones when P' has an x^0 term, whose product the shifted
    /// polynomial constant in <see cref="Barrett"/> leaves out and the reduction adds back.
    /// </summary>
    public ulong BarrettLowTermMask { get; }

    /// <summary>Folds the lanes of one 256-bit register onto its last lane: [128-bit distance, 0].</summary>
    public Vector256<ulong> Collapse256 { get; }

    /// <summary>Folds the lanes of one 512-bit register onto its last lane: [384, 256, 128, 0].</summary>
    public Vector512<ulong> Collapse512 { get; }

    private CrcFoldingConstants(bool reflected, ulong extendedPolyLow)
    {
        Reflected = reflected;
        UInt128 mu = BarrettQuotient128(extendedPolyLow);
        for (int lanes = 1; lanes <= MaxFoldLanes; lanes++)
        {
            int d = 128 * lanes;
            _fold[lanes] = reflected
                ? Vector128.Create(Reflect64(XPowMod(64 + d - 1, extendedPolyLow, 64)), Reflect64(XPowMod(d - 1, extendedPolyLow, 64)))
                : Vector128.Create(XPowMod(d, extendedPolyLow, 64), XPowMod(64 + d, extendedPolyLow, 64));
        }
        if (reflected)
        {
            ReduceStep = Vector128.Create(Reflect64(XPowMod(127, extendedPolyLow, 64)), 0UL);
            // μ and P' both have degree 64: drop their x^0 terms (shift right once) so that the
            // 65-bit values fit a bit-reversed quadword; the product's extra x puts them back.
            ulong muShifted = (ulong)(mu >> 1);
            ulong polyShifted = (1UL << 63) | (extendedPolyLow >> 1);
            Barrett = Vector128.Create(Reflect64(muShifted), Reflect64(polyShifted));
            BarrettLowTermMask = (extendedPolyLow & 1) != 0 ? ulong.MaxValue : 0;
        }
        else
        {
            ReduceStep = Vector128.Create(0UL, XPowMod(128, extendedPolyLow, 64));
            Barrett = Vector128.Create((ulong)mu, extendedPolyLow);
        }
        for (int distance = 1; distance < MaxFoldLanes; distance++)
            _byDistance[MaxFoldLanes - 1 - distance] = _fold[distance];
        _byDistanceBase = (Vector128<ulong>*)Unsafe.AsPointer(ref _byDistance[0]);
        Collapse256 = Vector256.Create(Fold(1), Vector128<ulong>.Zero);
        Collapse512 = Vector512.Create(Vector256.Create(Fold(3), Fold(2)), Vector256.Create(Fold(1), Vector128<ulong>.Zero));
    }

    /// <summary>Constants for a reflected CRC of <paramref name="width"/> bits given its reflected polynomial.</summary>
    public static CrcFoldingConstants ForReflected(ulong reflectedPolynomial, int width)
        => new(true, Reflect(reflectedPolynomial, width) << (64 - width));

    /// <summary>Constants for a non-reflected CRC of <paramref name="width"/> bits given its normal polynomial.</summary>
    public static CrcFoldingConstants ForNormal(ulong polynomial, int width)
        => new(false, polynomial << (64 - width));

    /// <summary>The constant pair that folds a lane forward by <paramref name="lanes"/> × 128 bits.</summary>
    public Vector128<ulong> Fold(int lanes) => _fold[lanes];

    /// <summary>
    /// Where consecutive fold pairs for lanes at distances <paramref name="distance"/>,
    /// <paramref name="distance"/> − 1, ... (down to 0 at most) start: a register whose first
    /// lane lies <paramref name="distance"/> lanes before the last lane loads its constants here.
    /// </summary>
    public Vector128<ulong>* ByDistance(int distance) => _byDistanceBase + (MaxFoldLanes - 1 - distance);
}
