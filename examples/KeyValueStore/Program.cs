using System.Globalization;
using PolledNvme.Examples.KeyValueStore;

// usage: KeyValueStore DEVICE [keys] [concurrency] [seconds]
//   e.g. emu:/var/tmp/kv.img,size=1g   mem:size=1g   tcp:127.0.0.1:4420/nqn...   pci:0000:00:04.0
if (args.Length < 1)
{
    Console.Error.WriteLine("usage: KeyValueStore DEVICE [keys=10000] [concurrency=32] [seconds=10]");
    return 2;
}
int keys = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10_000;
int concurrency = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 32;
double seconds = args.Length > 3 ? double.Parse(args[3], CultureInfo.InvariantCulture) : 10;
Console.WriteLine(KeyValueWorkload.Run(args[0], keys, concurrency, TimeSpan.FromSeconds(seconds)));
return 0;
