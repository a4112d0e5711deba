#if NET8_0_OR_GREATER
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TextGen.Runtime.Kernels;

/// <summary>
/// <c>acc + a * b</c> for the wide paths, as a struct type argument so the JIT compiles one loop per choice with no
/// branch inside it (the pattern of TensorPrimitives' operators).
/// </summary>
internal interface IMultiplyAdd
{
    Vector256<float> Invoke(Vector256<float> a, Vector256<float> b, Vector256<float> acc);

    Vector512<float> Invoke(Vector512<float> a, Vector512<float> b, Vector512<float> acc);
}

/// <summary>Strict mode: the product is rounded to float before the add, exactly like the scalar reference.</summary>
internal readonly struct RoundedMultiplyAdd : IMultiplyAdd
{
    public Vector256<float> Invoke(Vector256<float> a, Vector256<float> b, Vector256<float> acc) => acc + a * b;

    public Vector512<float> Invoke(Vector512<float> a, Vector512<float> b, Vector512<float> acc) => acc + a * b;
}

/// <summary>Fast mode: one rounding per step with the CPU's FMA instruction when it has one.</summary>
internal readonly struct FusedMultiplyAdd : IMultiplyAdd
{
    public Vector256<float> Invoke(Vector256<float> a, Vector256<float> b, Vector256<float> acc)
        => Fma.IsSupported ? Fma.MultiplyAdd(a, b, acc) : acc + a * b;

    public Vector512<float> Invoke(Vector512<float> a, Vector512<float> b, Vector512<float> acc)
        => Avx512F.IsSupported ? Avx512F.FusedMultiplyAdd(a, b, acc) : acc + a * b;
}
#endif
