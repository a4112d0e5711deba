#if NET5_0_OR_GREATER
using System.Runtime.CompilerServices;

// Code compiled against the netstandard2.1 build names this assembly's IsExternalInit in the signature of every init
// accessor (SamplingOptions.Temperature, ...). The forward lets that code bind to the net8.0 build, whose accessors
// name the framework's type; without it, a netstandard2.1 library running on .NET 8+ fails with MissingMethodException.
[assembly: TypeForwardedTo(typeof(IsExternalInit))]
#else
namespace System.Runtime.CompilerServices;

/// <summary>Lets netstandard2.1 compile <c>init</c> accessors and records; .NET 5+ has the type built in.</summary>
internal static class IsExternalInit
{
}
#endif
