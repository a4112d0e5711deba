using System.CommandLine;
using TextGen.Benchmarks;
using TextGen.Runtime.Format;
using TextGen.Trainer.Data;

try
{
    return BenchmarkCommandLine.Root().Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (Exception e) when (e is ModelFormatException or CorpusException or IOException or UnauthorizedAccessException or OutOfMemoryException)
{
    // A file that cannot be used, or a size the machine cannot hold: the message says which; a stack trace would not.
    // Anything else (a fuzz target's disagreement among them) is a defect and keeps its trace.
    Console.Error.WriteLine(e.Message);
    return 1;
}
