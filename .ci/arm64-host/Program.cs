using System.Numerics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

// Runs the main assembly of a framework-dependent app (args[0], built for any CPU) on this runtime, with the rest of
// args, resolving its dependencies from its deps.json. Publishing the app itself for linux-arm64 would restore the
// Runtime's net8.0 target for that RID too, whose runtime pack the package feed here does not serve.
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: Arm64Host APP.dll [ARGS...]");
    return 2;
}
string app = Path.GetFullPath(args[0]);
if (!File.Exists(app))
{
    Console.Error.WriteLine($"{app}: no such file");
    return 2;
}
// The caller checks this line: the run is worth nothing unless it took the ARM64 JIT and its 128-bit vectors.
Console.Error.WriteLine($"host: {RuntimeInformation.ProcessArchitecture}, Vector<T> {Vector<byte>.Count} bytes, accelerated {Vector.IsHardwareAccelerated}");
var resolver = new AssemblyDependencyResolver(app);
AssemblyLoadContext.Default.Resolving += (context, name) => resolver.ResolveAssemblyToPath(name) is string path ? context.LoadFromAssemblyPath(path) : null;
MethodInfo entry = AssemblyLoadContext.Default.LoadFromAssemblyPath(app).EntryPoint
    ?? throw new InvalidOperationException($"{app} has no entry point");
object? result = entry.Invoke(null, entry.GetParameters().Length == 0 ? null : new object[] { args[1..] });
return result switch
{
    int code => code,
    Task<int> task => task.GetAwaiter().GetResult(),
    _ => 0,
};
