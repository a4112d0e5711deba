namespace TextGen.Trainer.Export;

/// <summary>
/// The field numbers and enum values of onnx/onnx.proto (github.com/onnx/onnx, <c>package onnx</c>) that the
/// exporter writes. They are part of the ONNX file format and never change between releases.
/// </summary>
internal static class OnnxProto
{
    /// <summary>IR version 8 (ONNX 1.10): the one that goes with opset 15.</summary>
    public const long IrVersion = 8;

    /// <summary>
    /// Opset 15: the newest that Unity Sentis imports (it reads opsets 7 to 15), and far below what ONNX Runtime
    /// 1.31 reads. Split still takes its sizes from the number of outputs here, and LSTM has its <c>layout</c> attribute.
    /// </summary>
    public const long OpsetVersion = 15;

    /// <summary><c>message ModelProto</c>.</summary>
    public static class ModelProto
    {
        public const int IrVersion = 1;
        public const int ProducerName = 2;
        public const int ProducerVersion = 3;
        public const int DocString = 6;
        public const int Graph = 7;
        public const int OpsetImport = 8;
        public const int MetadataProps = 14;
    }

    /// <summary><c>message OperatorSetIdProto</c>.</summary>
    public static class OperatorSetIdProto
    {
        public const int Domain = 1;
        public const int Version = 2;
    }

    /// <summary><c>message StringStringEntryProto</c>.</summary>
    public static class StringStringEntryProto
    {
        public const int Key = 1;
        public const int Value = 2;
    }

    /// <summary><c>message GraphProto</c>.</summary>
    public static class GraphProto
    {
        public const int Node = 1;
        public const int Name = 2;
        public const int Initializer = 5;
        public const int Input = 11;
        public const int Output = 12;
    }

    /// <summary><c>message NodeProto</c>.</summary>
    public static class NodeProto
    {
        public const int Input = 1;
        public const int Output = 2;
        public const int Name = 3;
        public const int OpType = 4;
        public const int Attribute = 5;
    }

    /// <summary><c>message AttributeProto</c> and its <c>AttributeType</c> enum.</summary>
    public static class AttributeProto
    {
        public const int Name = 1;
        public const int I = 3;
        public const int Type = 20;
        public const long TypeInt = 2;
    }

    /// <summary><c>message TensorProto</c> and its <c>DataType</c> enum.</summary>
    public static class TensorProto
    {
        public const int Dims = 1;
        public const int DataType = 2;
        public const int Name = 8;
        public const int RawData = 9;
        public const long DataTypeFloat = 1;
        public const long DataTypeInt64 = 7;
    }

    /// <summary><c>message ValueInfoProto</c>.</summary>
    public static class ValueInfoProto
    {
        public const int Name = 1;
        public const int Type = 2;
    }

    /// <summary><c>message TypeProto</c> and its nested <c>Tensor</c>.</summary>
    public static class TypeProto
    {
        public const int TensorType = 1;
        public const int TensorElemType = 1;
        public const int TensorShape = 2;
    }

    /// <summary><c>message TensorShapeProto</c> and its nested <c>Dimension</c>.</summary>
    public static class TensorShapeProto
    {
        public const int Dim = 1;
        public const int DimValue = 1;
    }
}
