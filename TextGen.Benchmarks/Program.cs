using TextGen.Benchmarks;

return BenchmarkCommandLine.Root().Parse(args).Invoke();
