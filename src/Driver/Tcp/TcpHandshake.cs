using System.Net;
using System.Runtime.InteropServices;

namespace PolledNvme.Driver.Tcp;

/// <summary>
/// Opens one NVMe/TCP connection: the TCP connect, then the ICReq/ICResp exchange that fixes
/// the PDU format version, the digests, the controller's data alignment and MAXH2CDATA
/// (NVMe/TCP 1.0 §3.6.1). Blocking with a deadline: connection set-up is not on the I/O path.
/// A listener that accepts and then closes (QEMU's user networking accepts before the guest
/// listens) fails here with <see cref="NvmeTcpError.InitializationFailed"/>, not later.
/// </summary>
internal readonly unsafe struct TcpHandshake(IPEndPoint endpoint, NvmeTcpOptions options, ushort queueId, string address)
{
    /// <summary>Connects and initializes; returns the live socket and the controller's ICResp. <paramref name="scratch"/> holds at least 128 bytes.</summary>
    public TcpSocket Connect(byte* scratch, int scratchLength, out ICRespPdu response)
    {
        long deadline = Environment.TickCount64 + (long)options.ConnectTimeout.TotalMilliseconds;
        TcpSocket socket = TcpSocket.Connect(endpoint, options.ConnectTimeout, out int errno)
            ?? throw ConnectError(errno);
        try
        {
            var pdu = new Span<byte>(scratch, scratchLength);
            TcpPduCodec.WriteICReq(pdu, options.HeaderDigest, options.DataDigest);
            SendAll(socket, scratch, ICReqPdu.Size, deadline);
            ReceiveAll(socket, scratch, ICRespPdu.Size, deadline);
            response = MemoryMarshal.Read<ICRespPdu>(pdu);
            if (TcpPduCodec.CheckICResp(in response, options.HeaderDigest, options.DataDigest) is { } problem)
                throw new NvmeTcpException(NvmeTcpError.InitializationFailed, $"{Where()}: the controller's ICResp is not acceptable: {problem}.");
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private void SendAll(TcpSocket socket, byte* bytes, int length, long deadline)
    {
        int sent = 0;
        while (sent < length)
        {
            var iov = new TcpSocket.IoVector { Base = bytes + sent, Length = (nuint)(length - sent) };
            long n = socket.Send(&iov, 1);
            if (n > 0)
            {
                sent += (int)n;
                continue;
            }
            if (n != -TcpSocket.EAGAIN)
                throw Lost((int)-n, "sending the ICReq");
            if (socket.WaitWritable(Left(deadline)) != 0)
                throw TimedOut("sending the ICReq");
        }
    }

    private void ReceiveAll(TcpSocket socket, byte* bytes, int length, long deadline)
    {
        int received = 0;
        while (received < length)
        {
            var iov = new TcpSocket.IoVector { Base = bytes + received, Length = (nuint)(length - received) };
            long n = socket.Receive(&iov, 1);
            if (n > 0)
            {
                received += (int)n;
                continue;
            }
            if (n == 0 || n == -TcpSocket.ECONNRESET)
                throw new NvmeTcpException(NvmeTcpError.InitializationFailed,
                    $"{Where()}: the connection ended before the ICResp ({(n == 0 ? "closed" : "reset")} after {received} of its {length} bytes). Nothing serves NVMe/TCP there yet "
                    + "(a port forwarder accepts before the target listens), or the target refused the ICReq (its log says why). Retry once the target is up.",
                    n == 0 ? 0 : TcpSocket.ECONNRESET);
            if (n != -TcpSocket.EAGAIN)
                throw Lost((int)-n, "waiting for the ICResp");
            if (socket.WaitReadable(Left(deadline)) != 0)
                throw TimedOut("waiting for the ICResp");
        }
    }

    private static TimeSpan Left(long deadline) => TimeSpan.FromMilliseconds(Math.Max(0, deadline - Environment.TickCount64));

    private string Where() => $"{address} queue {queueId} ({endpoint})";

    private NvmeTcpException ConnectError(int errno) => errno == TcpSocket.ECONNREFUSED
        ? new NvmeTcpException(NvmeTcpError.ConnectionRefused,
            $"{Where()}: connection refused ({TcpSocket.Describe(errno)}): nothing listens on {endpoint}. Check the address and port, and that the target's port is enabled "
            + "(Linux nvmet: a port under /sys/kernel/config/nvmet/ports with this trsvcid, linked to the subsystem).", errno)
        : new NvmeTcpException(NvmeTcpError.ConnectFailed, $"{Where()}: cannot connect: {TcpSocket.Describe(errno)}.", errno);

    private NvmeTcpException Lost(int errno, string during) => new(
        errno is TcpSocket.ECONNRESET or TcpSocket.EPIPE ? NvmeTcpError.InitializationFailed : NvmeTcpError.ConnectFailed,
        $"{Where()}: the connection failed {during}: {TcpSocket.Describe(errno)}.", errno);

    private NvmeTcpException TimedOut(string during) => new(NvmeTcpError.InitializationFailed,
        $"{Where()}: no progress {during} within {options.ConnectTimeout.TotalSeconds:0.#} s: the target does not answer NVMe/TCP on this port.", TcpSocket.ETIMEDOUT);
}
