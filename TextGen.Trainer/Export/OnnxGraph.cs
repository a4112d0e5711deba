using System.Buffers.Binary;
using static TextGen.Trainer.Export.OnnxProto;

namespace TextGen.Trainer.Export;

/// <summary>
/// An ONNX model under construction: nodes in topological order (the order they are added), constant weights
/// (initializers), and the typed graph inputs and outputs. <see cref="ToBytes"/> serializes it as a ModelProto of the
/// default domain at <see cref="OnnxProto.OpsetVersion"/>.
/// </summary>
internal sealed class OnnxGraph
{
    private readonly ProtoMessage _graph = new();
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private int _nodes;

    /// <summary>An empty graph named <paramref name="name"/>.</summary>
    public OnnxGraph(string name) => _graph.String(GraphProto.Name, name);

    /// <summary>Adds a graph input of <paramref name="elementType"/> (a TensorProto DataType) and fixed <paramref name="shape"/>.</summary>
    public void Input(string name, long elementType, params long[] shape) => _graph.Message(GraphProto.Input, ValueInfo(Declare(name), elementType, shape));

    /// <summary>Declares <paramref name="name"/>, produced by a node, as a graph output of fixed <paramref name="shape"/>.</summary>
    public void Output(string name, long elementType, params long[] shape) => _graph.Message(GraphProto.Output, ValueInfo(name, elementType, shape));

    /// <summary>A constant float tensor; <paramref name="values"/> hold its elements in row-major order.</summary>
    public string Initializer(string name, float[] values, params long[] shape)
    {
        var bytes = new byte[values.Length * sizeof(float)];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), values[i]);
        return Constant(name, TensorProto.DataTypeFloat, bytes, shape);
    }

    /// <summary>A constant int64 tensor.</summary>
    public string Initializer(string name, long[] values, params long[] shape)
    {
        var bytes = new byte[values.Length * sizeof(long)];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i * sizeof(long)), values[i]);
        return Constant(name, TensorProto.DataTypeInt64, bytes, shape);
    }

    /// <summary>
    /// Adds a node of the default domain. An empty name in <paramref name="outputs"/> skips an optional output;
    /// <paramref name="attributes"/> are all integers (the only kind this exporter needs). Returns the first output.
    /// </summary>
    public string Node(string opType, string[] inputs, string[] outputs, params (string Name, long Value)[] attributes)
    {
        var node = new ProtoMessage();
        foreach (string input in inputs) node.String(NodeProto.Input, input);
        foreach (string output in outputs)
        {
            node.String(NodeProto.Output, output.Length == 0 ? output : Declare(output));
        }
        node.String(NodeProto.Name, $"{opType}_{_nodes++}");
        node.String(NodeProto.OpType, opType);
        foreach (var (name, value) in attributes)
        {
            node.Message(NodeProto.Attribute, new ProtoMessage()
                .String(AttributeProto.Name, name)
                .Int64(AttributeProto.Type, AttributeProto.TypeInt)
                .Int64(AttributeProto.I, value));
        }
        _graph.Message(GraphProto.Node, node);
        return outputs[0];
    }

    /// <summary>The ModelProto: this graph, the opset import, the producer, and <paramref name="metadata"/> as metadata_props.</summary>
    public byte[] ToBytes(string docString, IEnumerable<KeyValuePair<string, string>> metadata)
    {
        var model = new ProtoMessage()
            .Int64(ModelProto.IrVersion, IrVersion)
            .String(ModelProto.ProducerName, "TextGen.Trainer")
            .String(ModelProto.ProducerVersion, typeof(OnnxGraph).Assembly.GetName().Version?.ToString() ?? "0")
            .String(ModelProto.DocString, docString)
            .Message(ModelProto.Graph, _graph)
            .Message(ModelProto.OpsetImport, new ProtoMessage().String(OperatorSetIdProto.Domain, "").Int64(OperatorSetIdProto.Version, OpsetVersion));
        foreach (var (key, value) in metadata)
        {
            model.Message(ModelProto.MetadataProps, new ProtoMessage().String(StringStringEntryProto.Key, key).String(StringStringEntryProto.Value, value));
        }
        return model.ToArray();
    }

    private string Constant(string name, long dataType, byte[] rawData, long[] shape)
    {
        var tensor = new ProtoMessage();
        foreach (long d in shape) tensor.Int64(TensorProto.Dims, d);
        tensor.Int64(TensorProto.DataType, dataType).String(TensorProto.Name, Declare(name)).Bytes(TensorProto.RawData, rawData);
        _graph.Message(GraphProto.Initializer, tensor);
        return name;
    }

    private static ProtoMessage ValueInfo(string name, long elementType, long[] shape)
    {
        var dims = new ProtoMessage();
        foreach (long d in shape) dims.Message(TensorShapeProto.Dim, new ProtoMessage().Int64(TensorShapeProto.DimValue, d));
        var tensorType = new ProtoMessage().Int64(TypeProto.TensorElemType, elementType).Message(TypeProto.TensorShape, dims);
        return new ProtoMessage()
            .String(ValueInfoProto.Name, name)
            .Message(ValueInfoProto.Type, new ProtoMessage().Message(TypeProto.TensorType, tensorType));
    }

    // ONNX values are in static single assignment form; a second producer of one name is an exporter bug.
    private string Declare(string name)
    {
        if (!_names.Add(name)) throw new InvalidOperationException($"the ONNX graph already has a value named {name}");
        return name;
    }
}
