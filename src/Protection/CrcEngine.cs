using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace PolledNvme.Protection;

/// <summary>
/// What the shared engine needs to know about one CRC: its value type, how a caller's
/// "previous final value" maps to and from the 64-bit kernel register, its constants and
/// its table loop.
/// </summary>
internal interface ICrcParameters<TValue> where TValue : unmanaged
{
    /// <summary>Name used in exception messages.</summary>
    static abstract string Name { get; }

    /// <summary>Folding and Barrett constants.</summary>
    static abstract CrcFoldingConstants Constants { get; }

    /// <summary>Whether <paramref name="kernel"/> runs on this machine for this CRC.</summary>
    static abstract bool IsSupported(CrcKernel kernel);

    /// <summary>The kernel register that continues from a previous final value.</summary>
    static abstract ulong ToRegister(TValue previous);

    /// <summary>The final value of a kernel register.</summary>
    static abstract TValue FromRegister(ulong register);

    /// <summary>Advances the kernel register over <paramref name="data"/> with the table loop.</summary>
    static abstract ulong UpdateTable(ulong register, ReadOnlySpan<byte> data);

    /// <summary>Finishes the few bytes (&lt; 16) a folding kernel leaves: the table loop, or faster where the CRC has one.</summary>
    static abstract ulong UpdateTail(ulong register, ReadOnlySpan<byte> data);
}

/// <summary>
/// The code every CRC shares: run the folding kernel on what it can take, finish the tail
/// with the table loop; and the multi-block driver that folds four blocks at a time.
/// </summary>
internal static unsafe class CrcEngine<TValue, TParameters, TOrder>
    where TValue : unmanaged
    where TParameters : struct, ICrcParameters<TValue>
    where TOrder : struct, ICrcBitOrder
{
    /// <summary>Continues from <paramref name="previous"/> on <paramref name="kernel"/>, which must be a table or folding path.</summary>
    public static TValue Update(TValue previous, ReadOnlySpan<byte> data, CrcKernel kernel)
    {
        if (!TParameters.IsSupported(kernel))
            ThrowUnsupported(kernel);
        return TParameters.FromRegister(UpdateRegister(TParameters.ToRegister(previous), data, kernel));
    }

    /// <summary>Continues on the dispatch's own table or folding choice: nothing to check.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TValue UpdateKnown(TValue previous, ReadOnlySpan<byte> data, CrcKernel kernel)
        => TParameters.FromRegister(UpdateRegister(TParameters.ToRegister(previous), data, kernel));

    /// <summary>Advances a kernel register; <paramref name="kernel"/> is a supported table or folding path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong UpdateRegister(ulong register, ReadOnlySpan<byte> data, CrcKernel kernel)
    {
        if (kernel == CrcKernel.Table)
            return TParameters.UpdateTable(register, data);
        if (data.Length < 16)
            return data.IsEmpty ? register : TParameters.UpdateTail(register, data);
        int consumed;
        fixed (byte* p = &MemoryMarshal.GetReference(data))
            register = CrcKernels.Fold<TOrder>(kernel, register, p, data.Length, TParameters.Constants, out consumed);
        return consumed == data.Length ? register : TParameters.UpdateTail(register, data.Slice(consumed));
    }

    /// <summary>
    /// Block i of <paramref name="source"/> is <c>[i·stride, i·stride + blockLength)</c>; its CRC goes to <c>crcs[i]</c>.
    /// Folding paths take four blocks at a time; a per-block <paramref name="fallback"/> handles the rest.
    /// </summary>
    // Fully optimised from the first call: the PI engine calls this per I/O, and nothing
    // here benefits from profile-guided re-compilation.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ComputeBlocks(ReadOnlySpan<byte> source, int blockLength, int stride, Span<TValue> crcs, CrcKernel kernel,
        delegate*<TValue, ReadOnlySpan<byte>, CrcKernel, TValue> fallback)
    {
        CrcBlocks.Validate(source.Length, blockLength, stride, crcs.Length);
        if (!TParameters.IsSupported(kernel))
            ThrowUnsupported(kernel);
        int count = crcs.Length;
        int i = 0;
        if (CrcKernels.IsFoldingSupported(kernel) && blockLength >= 16)
        {
            ulong initial = TParameters.ToRegister(default);
            ulong* registers = stackalloc ulong[CrcFolding.InterleavedBlocks];
            fixed (byte* p = source)
            {
                for (; i + CrcFolding.InterleavedBlocks <= count; i += CrcFolding.InterleavedBlocks)
                {
                    for (int j = 0; j < CrcFolding.InterleavedBlocks; j++)
                        registers[j] = initial;
                    int first = i * stride;
                    int consumed = CrcKernels.FoldFourBlocks<TOrder>(kernel, registers, p + first, blockLength, stride, TParameters.Constants);
                    if (consumed == blockLength)
                    {
                        for (int j = 0; j < CrcFolding.InterleavedBlocks; j++)
                            crcs[i + j] = TParameters.FromRegister(registers[j]);
                        continue;
                    }
                    for (int j = 0; j < CrcFolding.InterleavedBlocks; j++)
                    {
                        ReadOnlySpan<byte> tail = source.Slice(first + j * stride + consumed, blockLength - consumed);
                        crcs[i + j] = TParameters.FromRegister(TParameters.UpdateTail(registers[j], tail));
                    }
                }
            }
        }
        for (; i < count; i++)
            crcs[i] = fallback(default, source.Slice(i * stride, blockLength), kernel);
    }

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowUnsupported(CrcKernel kernel)
    {
        if (!Enum.IsDefined(kernel))
            throw new ArgumentOutOfRangeException(nameof(kernel), kernel, $"Not a {nameof(CrcKernel)} value.");
        throw new PlatformNotSupportedException(
                $"{TParameters.Name} kernel {kernel} is not supported on this machine (or not defined for this CRC); check {TParameters.Name}.IsSupported first.");
    }
}
