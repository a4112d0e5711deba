using System.Numerics;
using TextGen.Runtime.Format;

namespace TextGen.Tests.Format;

/// <summary>The fast paths of the f32 encoding against their scalar twins, which are also the big-endian paths.</summary>
public sealed class LittleEndianFloat32Tests
{
    // Lengths around the vector width, so whole blocks, partial blocks and tails are all covered.
    private static IEnumerable<int> Lengths() => Enumerable.Range(0, 3 * Vector<uint>.Count + 2).Append(1000);

    private static float[] RandomFloats(int length, int seed)
    {
        var random = new Random(seed);
        var values = new float[length];
        for (int i = 0; i < length; i++)
        {
            // Random bit patterns with the exponent kept below all-ones: every finite class, subnormals included.
            int bits = random.Next() & ~0x0080_0000;
            values[i] = BitConverter.Int32BitsToSingle(random.Next(2) == 0 ? bits : bits | int.MinValue);
        }
        return values;
    }

    [TestCaseSource(nameof(Lengths))]
    public void EncodeAndDecodeMatchTheScalarPaths(int length)
    {
        float[] values = RandomFloats(length, seed: length);
        byte[] fast = new byte[length * 4];
        byte[] scalar = new byte[length * 4];

        LittleEndianFloat32.Encode(values, fast);
        LittleEndianFloat32.EncodeScalar(values, scalar);
        Assert.That(fast, Is.EqualTo(scalar));

        float[] decoded = new float[length];
        float[] decodedScalar = new float[length];
        LittleEndianFloat32.Decode(fast, decoded);
        LittleEndianFloat32.DecodeScalar(fast, decodedScalar);
        Assert.That(decoded.Select(BitConverter.SingleToInt32Bits), Is.EqualTo(values.Select(BitConverter.SingleToInt32Bits)));
        Assert.That(decodedScalar.Select(BitConverter.SingleToInt32Bits), Is.EqualTo(values.Select(BitConverter.SingleToInt32Bits)));
    }

    [Test]
    public void EncodingIsLittleEndian()
    {
        byte[] bytes = new byte[8];

        LittleEndianFloat32.EncodeScalar(new[] { 1.0f, -2.5f }, bytes);

        Assert.That(bytes, Is.EqualTo(new byte[] { 0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x20, 0xC0 }));
    }

    [TestCaseSource(nameof(Lengths))]
    public void FiniteDataHasNoNonFiniteIndex(int length)
    {
        byte[] bytes = new byte[length * 4];
        LittleEndianFloat32.Encode(RandomFloats(length, seed: 7 * length), bytes);

        Assert.That(LittleEndianFloat32.IndexOfNonFinite(bytes), Is.EqualTo(-1));
        Assert.That(LittleEndianFloat32.IndexOfNonFiniteScalar(bytes), Is.EqualTo(-1));
    }

    [Test]
    public void FirstNonFiniteValueIsFoundAtEveryPosition()
    {
        foreach (int length in Lengths().Where(n => n > 0))
        {
            for (int position = 0; position < length; position++)
            {
                foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity, BitConverter.Int32BitsToSingle(0x7F80_0001) })
                {
                    float[] values = RandomFloats(length, seed: position);
                    values[position] = bad;
                    if (position + 1 < length) values[length - 1] = float.NaN;
                    byte[] bytes = new byte[length * 4];
                    LittleEndianFloat32.Encode(values, bytes);

                    int expected = position;
                    Assert.That(LittleEndianFloat32.IndexOfNonFinite(bytes), Is.EqualTo(expected), $"length {length}, position {position}");
                    Assert.That(LittleEndianFloat32.IndexOfNonFiniteScalar(bytes), Is.EqualTo(expected));
                }
            }
        }
    }

    // Lengths around the decode chunk as well, so a value in a later chunk and a short last chunk are covered.
    private static IEnumerable<int> ChunkedLengths()
    {
        int chunk = LittleEndianFloat32.DecodeChunkFloats;
        return Lengths().Concat(new[] { chunk - 1, chunk, chunk + 1, 3 * chunk + 5 });
    }

    [TestCaseSource(nameof(ChunkedLengths))]
    public void DecodeFiniteCopiesFiniteValuesLikeTheScalarPath(int length)
    {
        float[] values = RandomFloats(length, seed: 3 * length);
        byte[] bytes = new byte[length * 4];
        LittleEndianFloat32.Encode(values, bytes);
        float[] fast = new float[length];
        float[] scalar = new float[length];

        Assert.That(LittleEndianFloat32.DecodeFinite(bytes, fast), Is.EqualTo(-1));
        Assert.That(LittleEndianFloat32.DecodeFiniteScalar(bytes, scalar), Is.EqualTo(-1));
        Assert.That(fast.Select(BitConverter.SingleToInt32Bits), Is.EqualTo(values.Select(BitConverter.SingleToInt32Bits)));
        Assert.That(scalar.Select(BitConverter.SingleToInt32Bits), Is.EqualTo(values.Select(BitConverter.SingleToInt32Bits)));
    }

    // An empty payload has no value to spoil; DecodeFiniteCopiesFiniteValuesLikeTheScalarPath covers it.
    private static IEnumerable<int> NonEmptyChunkedLengths() => ChunkedLengths().Where(length => length > 0);

    [TestCaseSource(nameof(NonEmptyChunkedLengths))]
    public void DecodeFiniteFindsTheFirstNonFiniteValueLikeTheScalarPath(int length)
    {
        int chunk = LittleEndianFloat32.DecodeChunkFloats;
        int[] positions = new[] { 0, 1, length / 2, chunk - 1, chunk, 2 * chunk + 3, length - 1 }.Where(p => p < length).Distinct().ToArray();
        foreach (int position in positions)
        {
            foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity, BitConverter.Int32BitsToSingle(unchecked((int)0xFF80_0001)) })
            {
                float[] values = RandomFloats(length, seed: position);
                values[position] = bad;
                if (position + 1 < length) values[length - 1] = float.PositiveInfinity;
                byte[] bytes = new byte[length * 4];
                LittleEndianFloat32.Encode(values, bytes);

                int fast = LittleEndianFloat32.DecodeFinite(bytes, new float[length]);
                int scalar = LittleEndianFloat32.DecodeFiniteScalar(bytes, new float[length]);

                Assert.That(fast, Is.EqualTo(position), $"length {length}, position {position}, {bad}");
                Assert.That(scalar, Is.EqualTo(position), $"length {length}, position {position}, {bad}");
                Assert.That(LittleEndianFloat32.IndexOfNonFinite(values.AsSpan()), Is.EqualTo(position));
            }
        }
    }

    [Test]
    public void ExtremeFiniteValuesAreFinite()
    {
        float[] values = { float.MaxValue, float.MinValue, float.Epsilon, -float.Epsilon, 0f, -0f, BitConverter.Int32BitsToSingle(0x7F7F_FFFF) };
        byte[] bytes = new byte[values.Length * 4];
        LittleEndianFloat32.Encode(values, bytes);

        Assert.That(LittleEndianFloat32.IndexOfNonFinite(bytes), Is.EqualTo(-1));
    }
}
