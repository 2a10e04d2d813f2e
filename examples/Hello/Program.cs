using PolledNvme.Examples.Hello;

HelloProgram.Run(Console.Out);
