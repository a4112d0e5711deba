Console.WriteLine("TextGen benchmarks");
