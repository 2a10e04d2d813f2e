using PolledNvme.GuestTest;

// Entry point inside the guest: pnvme-guest-test pci:<bdf> <configuration name> [nvme-ns properties],
// or --fabrics / --fabrics-bench for scripts/fabrics-test.sh (GuestRunner lists the forms).
// Exit code 0 = every check passed; the guest's /init forwards it through isa-debug-exit.
return GuestRunner.Run(args, Console.Out);
