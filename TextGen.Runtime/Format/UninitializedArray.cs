namespace TextGen.Runtime.Format;

/// <summary>
/// Arrays that the caller fills completely before anyone reads them (a file's bytes, decoded weights): zeroing
/// megabytes first would be wasted work. netstandard2.1 has no uninitialized allocation, so there they are zeroed.
/// </summary>
internal static class UninitializedArray
{
    /// <summary>A new array of <paramref name="length"/> elements whose contents are unspecified.</summary>
    public static T[] Create<T>(int length) where T : unmanaged
    {
#if NET5_0_OR_GREATER
        return GC.AllocateUninitializedArray<T>(length);
#else
        return new T[length];
#endif
    }
}
