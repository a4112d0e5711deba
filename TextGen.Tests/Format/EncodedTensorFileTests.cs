using System.Buffers.Binary;
using TextGen.Runtime.Format;
using TextGen.Tests.Support;

namespace TextGen.Tests.Format;

/// <summary>f16 and q8 weight files: layout, round trip, size, and hostile tensors refused before use.</summary>
internal sealed class EncodedTensorFileTests
{
    private static ModelFile Model(int embedding = 3) => RandomModels.Create(RandomModels.Architecture(CellKind.Lstm, layers: 2, hidden: 8, embedding: embedding, vocab: 10));

    [TestCase(TensorDType.F16)]
    [TestCase(TensorDType.Q8)]
    public void ConvertedFilesRoundTripWithMatricesEncodedAndBiasesF32(TensorDType dtype)
    {
        ModelFile converted = Model().ConvertTo(dtype);
        ModelFile read = ModelFile.Read(converted.ToBytes(), "converted.tgm");

        Assert.That(read.ToBytes(), Is.EqualTo(converted.ToBytes()));
        Assert.That(read.TensorSha256, Is.EqualTo(converted.TensorSha256));
        foreach (ModelTensor tensor in read.Tensors)
        {
            Assert.That(tensor.DType, Is.EqualTo(tensor.Shape.Count == 2 ? dtype : TensorDType.F32), tensor.Name);
            Assert.That(tensor.Data.Length, Is.EqualTo(TensorEncoding.DataBytes(tensor.DType, tensor.Shape)), tensor.Name);
        }
    }

    [Test]
    public void F16KeepsEveryHalfAndConvertingBackIsExact()
    {
        ModelFile f16 = Model().ConvertTo(TensorDType.F16);
        ModelFile back = f16.ConvertTo(TensorDType.F32).ConvertTo(TensorDType.F16);
        Assert.That(back.TensorSha256, Is.EqualTo(f16.TensorSha256));
        Assert.That(f16.ConvertTo(TensorDType.F16).Tensors.Zip(f16.Tensors).All(p => ReferenceEquals(p.First, p.Second)), Is.True);
    }

    [Test]
    public void Q8FileOfTheShippedShapeIsAtMost30PercentOfF32()
    {
        // The shipped model's shape: a 2×512 LSTM over 65 characters with a 64-wide embedding.
        ModelFile f32 = RandomModels.Create(RandomModels.Architecture(CellKind.Lstm, layers: 2, hidden: 512, embedding: 64, vocab: 65));
        int f32Bytes = f32.ToBytes().Length;
        int q8Bytes = f32.ConvertTo(TensorDType.Q8).ToBytes().Length;
        int f16Bytes = f32.ConvertTo(TensorDType.F16).ToBytes().Length;
        Assert.That((double)q8Bytes / f32Bytes, Is.LessThanOrEqualTo(0.30));
        Assert.That((double)f16Bytes / f32Bytes, Is.LessThanOrEqualTo(0.51));
    }

    [TestCase(TensorDType.F16, 59, "tensors[0].data: expected 60 bytes of binary data, found a length of 59")]
    [TestCase(TensorDType.Q8, 69, "tensors[0].data: expected 70 bytes of binary data, found a length of 69")]
    [TestCase(TensorDType.Q8, 71, "tensors[0].data: expected 70 bytes of binary data, found a length of 71")]
    public void WrongDataLengthIsRefused(TensorDType dtype, int length, string fragment)
    {
        var document = HandBuiltModelFile.From(Model().ConvertTo(dtype));
        document.Tensor(0)["data"] = new HandBuiltModelFile.TensorData(new byte[length]);
        ModelFileAssert.Refuses(document.Compose(), fragment);
    }

    [TestCase(float.NaN, "scale 1 of embedding.weight is NaN; q8 scales must be finite")]
    [TestCase(float.PositiveInfinity, "scale 1 of embedding.weight is +Infinity; q8 scales must be finite")]
    [TestCase(-0.5f, "scale 1 of embedding.weight is negative")]
    public void BadQ8ScaleIsRefused(float scale, string fragment)
    {
        var document = HandBuiltModelFile.From(Model().ConvertTo(TensorDType.Q8));
        byte[] data = ((HandBuiltModelFile.TensorData)document.Tensor(0)["data"]).Bytes.ToArray();
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(4), BitConverter.SingleToInt32Bits(scale));
        document.Tensor(0)["data"] = new HandBuiltModelFile.TensorData(data);
        ModelFileAssert.Refuses(document.Compose(), fragment);
    }

    [TestCase((ushort)0x7C00, "element 2 of embedding.weight is +Infinity")]
    [TestCase((ushort)0xFC00, "element 2 of embedding.weight is -Infinity")]
    [TestCase((ushort)0x7E01, "element 2 of embedding.weight is NaN")]
    public void NonFiniteHalfIsRefused(ushort bits, string fragment)
    {
        var document = HandBuiltModelFile.From(Model().ConvertTo(TensorDType.F16));
        byte[] data = ((HandBuiltModelFile.TensorData)document.Tensor(0)["data"]).Bytes.ToArray();
        BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(4), bits);
        document.Tensor(0)["data"] = new HandBuiltModelFile.TensorData(data);
        ModelFileAssert.Refuses(document.Compose(), fragment);
    }

    [Test]
    public void EncodedBiasesAndMixedMatrixDTypesAreRefused()
    {
        var document = HandBuiltModelFile.From(Model());
        document.Tensor(3)["dtype"] = (long)TensorDType.F16;
        ModelFileAssert.Refuses(document.Compose(), "tensors[3].dtype: dtype f16 is for matrices; vectors (biases) are always f32");

        document = HandBuiltModelFile.From(Model().ConvertTo(TensorDType.Q8));
        document.Tensors[2] = HandBuiltModelFile.From(Model().ConvertTo(TensorDType.F16)).Tensor(2);
        ModelFileAssert.Refuses(document.Compose(), "tensors[2].dtype: dtype f16 differs from the earlier matrices' q8; all matrices of a file have one dtype");

        var tensors = Model().Tensors.ToList();
        tensors[2] = tensors[2].ConvertTo(TensorDType.F16);
        Assert.That(() => new ModelFile(Model().Architecture, tensors, Model().Metadata), Throws.ArgumentException.With.Message.Contains("all matrices of a file have one dtype"));
    }

    [Test]
    public void F16BeyondItsRangeIsRefusedWhenConverting()
    {
        var tensor = ModelTensor.FromFloat32("w", new[] { 1, 2 }, new[] { 1f, 70000f });
        Assert.That(() => tensor.ConvertTo(TensorDType.F16), Throws.ArgumentException.With.Message.Contains("tensor w: element 1 is 70000, beyond the f16 range"));
    }
}
