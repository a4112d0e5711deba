using Google.Protobuf;

namespace TextGen.Trainer.Export;

/// <summary>
/// One protobuf message written field by field with Google.Protobuf's <see cref="CodedOutputStream"/>: the ONNX
/// writer needs no generated classes (and so no protoc and no onnx.proto in the build), only the field numbers in
/// <see cref="OnnxProto"/>. Fields are written in the order of the calls; every method returns the message for chaining.
/// </summary>
internal sealed class ProtoMessage
{
    private readonly MemoryStream _bytes = new();
    private readonly CodedOutputStream _output;

    public ProtoMessage() => _output = new CodedOutputStream(_bytes, leaveOpen: true);

    /// <summary>An int32, int64 or enum field (varint).</summary>
    public ProtoMessage Int64(int field, long value)
    {
        _output.WriteTag(field, WireFormat.WireType.Varint);
        _output.WriteInt64(value);
        return this;
    }

    /// <summary>A string field (UTF-8).</summary>
    public ProtoMessage String(int field, string value)
    {
        _output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        _output.WriteString(value);
        return this;
    }

    /// <summary>A bytes field.</summary>
    public ProtoMessage Bytes(int field, byte[] value)
    {
        _output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        // Wrapping instead of copying: tensor payloads are the bulk of the file.
        _output.WriteBytes(UnsafeByteOperations.UnsafeWrap(value));
        return this;
    }

    /// <summary>A nested message field; on the wire it is a bytes field holding the message.</summary>
    public ProtoMessage Message(int field, ProtoMessage message) => Bytes(field, message.ToArray());

    /// <summary>The serialized message.</summary>
    public byte[] ToArray()
    {
        _output.Flush();
        return _bytes.ToArray();
    }
}
