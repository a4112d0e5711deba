using System.Numerics;
using System.Runtime.InteropServices;
#if NET8_0_OR_GREATER
using System.Runtime.Intrinsics;
#endif

namespace TextGen.Runtime.Kernels;

/// <summary>
/// A function of one float, written once per width. Each width must perform the same IEEE operations in the same
/// order as the scalar form, so that every path gives the same bits (the tests check it).
/// </summary>
internal interface IElementwiseOperator
{
    float Invoke(float x);

    Vector<float> Invoke(Vector<float> x);
#if NET8_0_OR_GREATER
    Vector256<float> Invoke(Vector256<float> x);

    Vector512<float> Invoke(Vector512<float> x);
#endif
}

/// <summary>
/// <c>destination[i] = op(source[i])</c>: the widest vectors first, then a scalar tail. Source and destination may be
/// the same span (each element is read before it is written).
/// </summary>
internal static class Elementwise
{
    public static void Map<TOperator>(KernelPath path, TOperator op, ReadOnlySpan<float> source, Span<float> destination)
        where TOperator : struct, IElementwiseOperator
    {
        switch (path)
        {
#if NET8_0_OR_GREATER
            case KernelPath.Vector512:
                MapVector512(op, source, destination);
                break;
            case KernelPath.Vector256:
                MapVector256(op, source, destination);
                break;
#endif
            case KernelPath.Vector:
                MapVector(op, source, destination);
                break;
            default:
                MapScalar(op, source, destination);
                break;
        }
    }

    internal static void MapScalar<TOperator>(TOperator op, ReadOnlySpan<float> source, Span<float> destination)
        where TOperator : struct, IElementwiseOperator
    {
        CheckLengths(source, destination);
        for (int i = 0; i < source.Length; i++) destination[i] = op.Invoke(source[i]);
    }

    internal static void MapVector<TOperator>(TOperator op, ReadOnlySpan<float> source, Span<float> destination)
        where TOperator : struct, IElementwiseOperator
    {
        CheckLengths(source, destination);
        int whole = source.Length - source.Length % Vector<float>.Count;
        ReadOnlySpan<Vector<float>> from = MemoryMarshal.Cast<float, Vector<float>>(source.Slice(0, whole));
        Span<Vector<float>> to = MemoryMarshal.Cast<float, Vector<float>>(destination.Slice(0, whole));
        for (int k = 0; k < from.Length; k++) to[k] = op.Invoke(from[k]);
        for (int i = whole; i < source.Length; i++) destination[i] = op.Invoke(source[i]);
    }

#if NET8_0_OR_GREATER
    internal static void MapVector256<TOperator>(TOperator op, ReadOnlySpan<float> source, Span<float> destination)
        where TOperator : struct, IElementwiseOperator
    {
        CheckLengths(source, destination);
        ref float from = ref MemoryMarshal.GetReference(source);
        ref float to = ref MemoryMarshal.GetReference(destination);
        int whole = source.Length - source.Length % Vector256<float>.Count;
        for (int i = 0; i < whole; i += Vector256<float>.Count)
        {
            op.Invoke(Vector256.LoadUnsafe(ref from, (nuint)i)).StoreUnsafe(ref to, (nuint)i);
        }
        for (int i = whole; i < source.Length; i++) destination[i] = op.Invoke(source[i]);
    }

    internal static void MapVector512<TOperator>(TOperator op, ReadOnlySpan<float> source, Span<float> destination)
        where TOperator : struct, IElementwiseOperator
    {
        CheckLengths(source, destination);
        ref float from = ref MemoryMarshal.GetReference(source);
        ref float to = ref MemoryMarshal.GetReference(destination);
        int whole = source.Length - source.Length % Vector512<float>.Count;
        for (int i = 0; i < whole; i += Vector512<float>.Count)
        {
            op.Invoke(Vector512.LoadUnsafe(ref from, (nuint)i)).StoreUnsafe(ref to, (nuint)i);
        }
        for (int i = whole; i < source.Length; i++) destination[i] = op.Invoke(source[i]);
    }
#endif

    /// <summary>
    /// <c>destination[i] = a[i]·b[i] + c[i]·d[i]</c>: both products rounded, then their sum, on every path (no fused
    /// multiply-add), so every path gives the scalar loop's bits. The destination may be any of the sources. An LSTM's
    /// cell update, c' = f·c + i·g.
    /// </summary>
    public static void AddProducts(KernelPath path, ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> c, ReadOnlySpan<float> d, Span<float> destination)
    {
        CheckLengths(a, destination);
        CheckLengths(b, destination);
        CheckLengths(c, destination);
        CheckLengths(d, destination);
        int i = VectorElements(path, destination.Length);
        ReadOnlySpan<Vector<float>> av = AsVectors(a, i), bv = AsVectors(b, i), cv = AsVectors(c, i), dv = AsVectors(d, i);
        Span<Vector<float>> to = AsVectors(destination, i);
        for (int k = 0; k < to.Length; k++) to[k] = av[k] * bv[k] + cv[k] * dv[k];
        for (; i < destination.Length; i++) destination[i] = a[i] * b[i] + c[i] * d[i];
    }

    /// <summary><c>destination[i] = a[i]·b[i]</c>; the destination may be either source. An LSTM's h' = o·tanh(c').</summary>
    public static void Multiply(KernelPath path, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> destination)
    {
        CheckLengths(a, destination);
        CheckLengths(b, destination);
        int i = VectorElements(path, destination.Length);
        ReadOnlySpan<Vector<float>> av = AsVectors(a, i), bv = AsVectors(b, i);
        Span<Vector<float>> to = AsVectors(destination, i);
        for (int k = 0; k < to.Length; k++) to[k] = av[k] * bv[k];
        for (; i < destination.Length; i++) destination[i] = a[i] * b[i];
    }

    /// <summary><c>destination[i] += a[i]·b[i]</c>, the product rounded first. A GRU's n = W_in x + b_in + r·(W_hn h + b_hn).</summary>
    public static void AddProduct(KernelPath path, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> destination)
    {
        CheckLengths(a, destination);
        CheckLengths(b, destination);
        int i = VectorElements(path, destination.Length);
        ReadOnlySpan<Vector<float>> av = AsVectors(a, i), bv = AsVectors(b, i);
        Span<Vector<float>> to = AsVectors(destination, i);
        for (int k = 0; k < to.Length; k++) to[k] += av[k] * bv[k];
        for (; i < destination.Length; i++) destination[i] += a[i] * b[i];
    }

    /// <summary>
    /// <c>destination[i] = (1 − z[i])·n[i] + z[i]·h[i]</c>, each operation rounded in that order; the destination may be
    /// any of the sources. A GRU's h' = (1 − z)·n + z·h.
    /// </summary>
    public static void Blend(KernelPath path, ReadOnlySpan<float> z, ReadOnlySpan<float> n, ReadOnlySpan<float> h, Span<float> destination)
    {
        CheckLengths(z, destination);
        CheckLengths(n, destination);
        CheckLengths(h, destination);
        int i = VectorElements(path, destination.Length);
        ReadOnlySpan<Vector<float>> zv = AsVectors(z, i), nv = AsVectors(n, i), hv = AsVectors(h, i);
        Span<Vector<float>> to = AsVectors(destination, i);
        for (int k = 0; k < to.Length; k++) to[k] = (Vector<float>.One - zv[k]) * nv[k] + zv[k] * hv[k];
        for (; i < destination.Length; i++) destination[i] = (1f - z[i]) * n[i] + z[i] * h[i];
    }

    /// <summary>
    /// How many of <paramref name="length"/> elements the element-wise operations above take in whole
    /// <see cref="Vector{T}"/>s: none on the scalar path (no vector hardware), the rest go one at a time.
    /// </summary>
    private static int VectorElements(KernelPath path, int length) => path == KernelPath.Scalar ? 0 : length - length % Vector<float>.Count;

    /// <summary>The first <paramref name="count"/> floats (a multiple of the vector width) as vectors.</summary>
    private static ReadOnlySpan<Vector<float>> AsVectors(ReadOnlySpan<float> values, int count) => MemoryMarshal.Cast<float, Vector<float>>(values.Slice(0, count));

    /// <inheritdoc cref="AsVectors(ReadOnlySpan{float}, int)"/>
    private static Span<Vector<float>> AsVectors(Span<float> values, int count) => MemoryMarshal.Cast<float, Vector<float>>(values.Slice(0, count));

    private static void CheckLengths(ReadOnlySpan<float> source, Span<float> destination)
    {
        if (source.Length != destination.Length) throw new ArgumentException($"source holds {source.Length} floats, destination {destination.Length}", nameof(destination));
    }
}
