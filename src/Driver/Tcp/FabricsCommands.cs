using System.Buffers.Binary;
using System.Text;
using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Driver.Tcp;

/// <summary>
/// The NVMe over Fabrics commands the host sends (NVMe Base 2.0 §6: opcode 7Fh, FCTYPE in
/// byte 4): Connect (§6.3) with its 1024-byte data, Property Get (§6.6) and Property Set
/// (§6.7); Keep Alive (§5.25, admin opcode 18h); and what a Connect failure's status means.
/// </summary>
internal static class FabricsCommands
{
    public const byte Opcode = 0x7F;
    public const byte PropertySetType = 0x00;
    public const byte ConnectType = 0x01;
    public const byte PropertyGetType = 0x04;
    public const byte KeepAliveOpcode = 0x18;

    /// <summary>Bytes of Connect data (§6.3, Fig 375).</summary>
    public const int ConnectDataSize = 1024;

    /// <summary>The dynamic controller model: the admin Connect asks for any controller (§6.3).</summary>
    public const ushort DynamicControllerId = 0xFFFF;

    /// <summary>CATTR bit 2: disable SQ flow control.</summary>
    public const byte DisableSqFlowControl = 0x04;

    /// <summary>Connect (§6.3): RECFMT 0, QID, SQSIZE (0's based), CATTR, KATO in ms (admin queue only).</summary>
    public static SubmissionEntry Connect(ushort qid, int entries, bool sqFlowControl, uint kato) => new()
    {
        Opcode = Opcode,
        NamespaceId = ConnectType,
        Cdw10 = (uint)qid << 16,
        Cdw11 = (uint)(entries - 1) | ((uint)(sqFlowControl ? 0 : DisableSqFlowControl) << 16),
        Cdw12 = kato,
    };

    /// <summary>Writes the Connect data: HOSTID, CNTLID, SUBNQN, HOSTNQN (Fig 375).</summary>
    public static void WriteConnectData(Span<byte> data, Guid hostId, ushort controllerId, string subsystemNqn, string hostNqn)
    {
        data[..ConnectDataSize].Clear();
        WriteUuid(data[..16], hostId);
        BinaryPrimitives.WriteUInt16LittleEndian(data.Slice(16, 2), controllerId);
        Encoding.UTF8.GetBytes(subsystemNqn, data.Slice(256, 256));
        Encoding.UTF8.GetBytes(hostNqn, data.Slice(512, 256));
    }

    /// <summary>Property Get (§6.6): ATTRIB size (0 = 4 bytes, 1 = 8 bytes), OFST.</summary>
    public static SubmissionEntry PropertyGet(int offset, bool eightBytes) => new()
    {
        Opcode = Opcode,
        NamespaceId = PropertyGetType,
        Cdw10 = eightBytes ? 1u : 0u,
        Cdw11 = (uint)offset,
    };

    /// <summary>Property Set (§6.7): ATTRIB, OFST, VALUE.</summary>
    public static SubmissionEntry PropertySet(int offset, ulong value, bool eightBytes) => new()
    {
        Opcode = Opcode,
        NamespaceId = PropertySetType,
        Cdw10 = eightBytes ? 1u : 0u,
        Cdw11 = (uint)offset,
        Cdw12 = (uint)value,
        Cdw13 = (uint)(value >> 32),
    };

    /// <summary>Keep Alive (§5.25).</summary>
    public static SubmissionEntry KeepAlive() => new() { Opcode = KeepAliveOpcode };

    /// <summary>A readable name for a command, for messages.</summary>
    public static string Name(in SubmissionEntry command) => command.Opcode != Opcode
        ? NvmeException.OpcodeName(command.Opcode, isAdmin: true)
        : (byte)command.NamespaceId switch
        {
            ConnectType => "Connect",
            PropertyGetType => "Property Get",
            PropertySetType => "Property Set",
            var t => $"Fabrics command FCTYPE {t:X2}h",
        };

    /// <summary>
    /// What a failed Connect's status says (§6.3, Fig 377: Connect-specific codes, SCT 1h), with
    /// what to do. For Connect Invalid Parameters, CQE DW0 names the field (IATTR 0 = the
    /// command, 1 = the data; IPO = the byte offset).
    /// </summary>
    public static string DescribeConnectFailure(NvmeStatus status, uint dw0, string subsystemNqn, string hostNqn)
    {
        if (status.Type != StatusCodeType.CommandSpecific)
            return $"{status}";
        ushort ipo = (ushort)dw0;
        bool inData = ((dw0 >> 16) & 1) != 0;
        return status.Code switch
        {
            0x80 => $"Connect Incompatible Format (SCT 1h, SC 80h): the controller does not take Connect record format 0",
            0x81 => $"Connect Controller Busy (SCT 1h, SC 81h): the controller or queue is in use; retry later",
            0x82 => $"Connect Invalid Parameters (SCT 1h, SC 82h) in the {(inData ? "data" : "command")} at byte {ipo}"
                + (inData ? ipo switch
                {
                    256 => $": subsystem '{subsystemNqn}' is not offered on this port (check the NQN; Linux nvmet: the subsystem must be linked to the port)",
                    512 => $": host NQN '{hostNqn}' was refused",
                    16 => ": the controller ID is not valid for this host (the association may have been lost)",
                    _ => "",
                } : ipo switch
                {
                    44 => ": the queue size (SQSIZE) is above what the controller supports (CAP.MQES)",
                    42 => ": the queue id is above what the controller granted",
                    _ => "",
                }),
            0x83 => $"Connect Restart Discovery (SCT 1h, SC 83h): the subsystem moved; read the discovery log again",
            0x84 => $"Connect Invalid Host (SCT 1h, SC 84h): host NQN '{hostNqn}' may not use subsystem '{subsystemNqn}' "
                + "(Linux nvmet: add it under the subsystem's allowed_hosts, or set attr_allow_any_host to 1)",
            0x85 => $"Invalid Queue Type (SCT 1h, SC 85h)",
            0x90 => $"Discover Restart (SCT 1h, SC 90h): the discovery log changed; read it again",
            0x91 => $"Authentication Required (SCT 1h, SC 91h): the subsystem requires in-band authentication (DH-HMAC-CHAP), which this host does not do",
            _ => $"{status}",
        };
    }

    /// <summary>A UUID in its wire order (RFC 4122 byte order: the text's bytes as written).</summary>
    public static void WriteUuid(Span<byte> destination, Guid id)
    {
        if (!id.TryWriteBytes(destination, bigEndian: true, out _))
            throw new ArgumentException("A UUID takes 16 bytes.", nameof(destination));
    }
}
