using System.Globalization;
using TextGen.Trainer.Cli;
using TextGen.Trainer.Native;

// Numbers in options, logs and JSON read and print the same on every machine.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

LibTorchEnvironment.Configure();

using var signals = new StopSignals();
return TrainerCommandLine.Run(args, Console.Out, Console.Error, signals.Token);
