using System.Globalization;
using PolledNvme.Examples.KeyValueStore;

// usage: KeyValueStore DEVICE [keys] [concurrency] [seconds]
//   e.g. emu:/var/tmp/kv.img,size=1g   mem:size=1g   tcp:127.0.0.1:4420/nqn...   pci:0000:00:04.0
const string Usage = "usage: KeyValueStore DEVICE [keys=10000] [concurrency=32] [seconds=10]";
if (args.Length is < 1 or > 4)
{
    Console.Error.WriteLine(Usage);
    return 2;
}
if (!TryArgument(1, 10_000, out int keys) || !TryArgument(2, 32, out int concurrency) || !TryArgument(3, 10, out int seconds))
    return 2;
try
{
    Console.WriteLine(KeyValueWorkload.Run(args[0], keys, concurrency, TimeSpan.FromSeconds(seconds)));
    return 0;
}
catch (Exception e) when (e is not OutOfMemoryException)
{
    // The library's messages say what failed and what to do; the stack trace helps nobody here.
    Console.Error.WriteLine($"KeyValueStore: {e.Message}");
    return 1;
}

bool TryArgument(int index, int fallback, out int value)
{
    value = fallback;
    if (args.Length <= index)
        return true;
    if (int.TryParse(args[index], NumberStyles.None, CultureInfo.InvariantCulture, out value) && value > 0)
        return true;
    string[] names = ["", "keys", "concurrency", "seconds"];
    Console.Error.WriteLine($"KeyValueStore: {names[index]} must be a positive whole number; got '{args[index]}'. {Usage}");
    return false;
}
