Console.WriteLine("TextGen trainer");
