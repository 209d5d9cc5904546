# project3 MMIO exit controller: the region set and the MOV/MOVZX decoder.
KERNEL_SRCS += project3/vmexit/mmio_decode.c project3/vmexit/mmio_regions.c

HOST_TESTS += test_mmio_decode test_mmio_regions
test_mmio_decode_SRCS := tests/host/test_mmio_decode.c tests/host/mmio_zydis.c \
	project3/vmexit/mmio_decode.c
# Debian's libzydis-dev ships no .pc file; fall back to the plain library.
test_mmio_decode_LIBS := $(shell pkg-config --libs zydis 2>/dev/null || echo -lZydis)
test_mmio_regions_SRCS := tests/host/test_mmio_regions.c project3/vmexit/mmio_regions.c
test_mmio_regions_LIBS :=

# Kernel tests: guests that try to fool the #NPF controller, and legitimate
# accesses from 64-, 32- and 16-bit code (tests/guests/hostile_mmio_*.S,
# assembled by mk/kev.mk's rule and embedded by the test itself).
HOSTILE_MMIO_GUESTS := hostile_mmio_attacks hostile_mmio_modes
KTEST_SRCS += tests/kernel/test_kev_hostile_mmio.c
$(BUILD)/k/tests/kernel/test_kev_hostile_mmio.o: $(HOSTILE_MMIO_GUESTS:%=$(BUILD)/guests/%.bin)
$(BUILD)/k/tests/kernel/test_kev_hostile_mmio.o: KCFLAGS += -Wa,-I$(BUILD)/guests
