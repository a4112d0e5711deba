#if !NET5_0_OR_GREATER
namespace System.Runtime.CompilerServices;

/// <summary>Lets netstandard2.1 compile <c>init</c> accessors and records; .NET 5+ has the type built in.</summary>
internal static class IsExternalInit
{
}
#endif
