using System.CommandLine;
using TextGen.Benchmarks;
using TextGen.CommandLine;
using TextGen.Runtime.Format;
using TextGen.Trainer.Data;

ParseResult parse = BenchmarkCommandLine.Root().Parse(args);
if (parse.Errors.Count > 0)
{
    foreach (var error in parse.Errors) Console.Error.WriteLine(ParseErrorText.Describe(error));
    Console.Error.WriteLine("Run with --help for usage.");
    return 1;
}
try
{
    return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (Exception e) when (e is ModelFormatException or CorpusException or IOException or UnauthorizedAccessException or OutOfMemoryException)
{
    // A file that cannot be used, or a size the machine cannot hold: the message says which; a stack trace would not.
    // Anything else (a fuzz target's disagreement among them) is a defect and keeps its trace.
    Console.Error.WriteLine(e.Message);
    return 1;
}
