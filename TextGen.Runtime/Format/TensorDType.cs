namespace TextGen.Runtime.Format;

/// <summary>How a tensor's elements are stored in a weight file.</summary>
public enum TensorDType
{
    /// <summary>IEEE 754 binary32, little-endian.</summary>
    F32 = 0,

    /// <summary>IEEE 754 binary16, little-endian. Matrices only; see docs/format.md.</summary>
    F16 = 1,

    /// <summary>int8 values with f32 scales per block. Matrices only; see docs/format.md.</summary>
    Q8 = 2,
}
