using PolledNvme.Examples.WriteAheadLog.Host;

return WalHostCommands.Run(args, Console.Out, Console.Error);
