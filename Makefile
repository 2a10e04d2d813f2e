# PolledNvme — build, test, run, benchmark.
DOTNET ?= dotnet
CONFIG ?= Release
RESULTS ?= TestResults

.PHONY: all build test test-long fuzz fuzz-cli run bench pack public-api qemu-test fabrics-test fabrics-bench clean

all: build

build:
	$(DOTNET) build PolledNvme.sln -c $(CONFIG) --nologo -v:q
	@mkdir -p bin
	@printf '#!/bin/sh\nexec "$$(dirname "$$(readlink -f "$$0")")/../src/Bench/bin/$(CONFIG)/net10.0/pnvme" "$$@"\n' > bin/pnvme
	@chmod +x bin/pnvme
	@echo "built: ./bin/pnvme"

# The README's test command.
test:
	$(DOTNET) test tests/PolledNvme.Tests.csproj -c $(CONFIG) --nologo \
		--logger "trx;LogFileName=results.trx" --logger "console;verbosity=normal" \
		--results-directory $(RESULTS)

# The long mode: the same suite, with tests that sample randomness (the SIGKILL crash rounds)
# running many more rounds (PNVME_LONG=1; docs/EMULATED-CONTROLLER.md, "Crash safety").
test-long:
	PNVME_LONG=1 $(MAKE) test

# The SQE fuzzer alone, for long runs (docs/FUZZING.md): N commands over every configuration,
# SEED (decimal or 0x hex; random when empty, always printed), ONLY=name to run one
# configuration, TRACE=1 to print every command. `make test` runs it with 100 000 commands.
fuzz:
	PNVME_FUZZ_COUNT=$(or $(N),1000000) PNVME_FUZZ_SEED=$(SEED) PNVME_FUZZ_CONFIG=$(ONLY) PNVME_FUZZ_TRACE=$(TRACE) \
		$(DOTNET) test tests/PolledNvme.Tests.csproj -c $(CONFIG) --nologo --filter "FullyQualifiedName~SqeFuzzTests" \
		--logger "console;verbosity=normal" --results-directory $(RESULTS)

# The README's main job.
run: build
	./bin/pnvme bench

# The CLI fuzzer alone, for long runs: N random pnvme command lines (default 100000), SEED to
# reproduce a run (default: a new seed, printed). `make test` runs 2000 of them (at most 25 s).
# (N and SEED are read inline, so other fuzz targets can default them differently.)
fuzz-cli:
	PNVME_FUZZ_CLI_N=$(or $(N),100000) PNVME_FUZZ_CLI_SEED=$(SEED) PNVME_FUZZ_CLI_SECONDS=0 $(DOTNET) test tests/PolledNvme.Tests.csproj -c $(CONFIG) --nologo \
		--filter "FullyQualifiedName~CliFuzzTests.Random_argument_vectors" --logger "console;verbosity=detailed"

# BenchmarkDotNet suite; pass e.g. FILTER='*Crc*' to narrow it.
FILTER ?= *
bench:
	$(DOTNET) run -c Release --project src/Bench/Micro/PolledNvme.Bench.Micro.csproj -- --filter '$(FILTER)'

# NuGet packages (PolledNvme.Protection, PolledNvme.Driver, PolledNvme.Emulation, PolledNvme.Uring; .nupkg + .snupkg) into artifacts/packages.
pack:
	$(DOTNET) pack PolledNvme.sln -c $(CONFIG) --nologo -v:q
	@ls artifacts/packages

# Adds every public symbol the libraries declare but their PublicAPI.*.txt do not list to
# PublicAPI.Unshipped.txt (from the analyzer's RS0016 messages). Removed symbols (RS0017) have no code fix: mark them
# by hand (CONTRIBUTING.md, "Public API baseline").
public-api:
	scripts/public-api.sh

# The real VFIO path against QEMU's NVMe controller in a TCG guest (scripts/qemu-test.sh; needs root for apt).
qemu-test:
	scripts/qemu-test.sh

# The NVMe/TCP transport against Linux's nvmet in one TCG guest boot, from the guest and from the host
# through QEMU user networking, with the benchmark against the kernel's initiator (scripts/fabrics-test.sh).
fabrics-test: build
	scripts/fabrics-test.sh

# The same boot with longer benchmark runs (BENCH_SECONDS, default 10): our initiator vs the kernel's
# (nvme-tcp + fio io_uring) at 4 KiB randread QD1 and QD32, IOPS and CPU per I/O. TCG: indicative only.
BENCH_SECONDS ?= 10
fabrics-bench: build
	FABRICS_BENCH_SECONDS=$(BENCH_SECONDS) scripts/fabrics-test.sh

clean:
	$(DOTNET) clean PolledNvme.sln -c $(CONFIG) --nologo -v:q
	rm -rf bin $(RESULTS) BenchmarkDotNet.Artifacts artifacts
