global using NUnit.Framework;
global using TextGen.Benchmarks.Models;
