using TextGen.Benchmarks;

if (args.Length > 0 && args[0] == "trainer-throughput") return TrainerThroughput.Run(args[1..]);
Console.WriteLine("TextGen benchmarks");
Console.WriteLine("  trainer-throughput [--corpus PATH] [--hidden N] [--steps N] [--rounds N] [--threads N]");
return 0;
