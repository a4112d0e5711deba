namespace TextGen.Runtime.Format;

/// <summary>Shape arithmetic shared by tensor specs and stored tensors.</summary>
internal static class TensorShape
{
    /// <summary>Product of the dimensions (1 for a scalar shape).</summary>
    public static long ElementCount(IReadOnlyList<int> shape)
    {
        long n = 1;
        foreach (int d in shape) n *= d;
        return n;
    }
}
