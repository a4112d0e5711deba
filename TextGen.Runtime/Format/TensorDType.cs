namespace TextGen.Runtime.Format;

/// <summary>How a tensor's elements are stored in a weight file.</summary>
public enum TensorDType
{
    /// <summary>IEEE 754 binary32, little-endian.</summary>
    F32 = 0,

    /// <summary>IEEE 754 binary16, little-endian. Reserved by format 1.x; implemented by the performance work.</summary>
    F16 = 1,

    /// <summary>int8 values with f32 scales per block. Reserved by format 1.x; implemented by the performance work.</summary>
    Q8 = 2,
}
