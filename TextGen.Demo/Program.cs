Console.WriteLine("TextGen demo");
