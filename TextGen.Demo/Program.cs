using TextGen.Demo;

return DemoCommandLine.Run(args, Console.In, Console.Out, Console.Error);
