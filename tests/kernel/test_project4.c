/* project4's host tests: each boots gKeOS with the x2APIC and the svirtb
 * device attached (disk_file from build/disk/project4.img) and runs one guest test of
 * tests/guest/project4/test_svirtb.c. Opt-in (prefix project4_): the
 * grader and check-project4 run them with the disk attached. */
#include "tests/kernel/project4_harness.h"

#define SVIRTB_KTEST PROJECT4_KTEST

SVIRTB_KTEST(check_blockio, 1, 60)
SVIRTB_KTEST(check_blockio_batching, 1, 60)
SVIRTB_KTEST(svirtb_reinit_after_reset, 1, 60)
SVIRTB_KTEST(svirtb_batch_larger_than_ring, 1, 60)
SVIRTB_KTEST(svirtb_ring_wraparound, 1, 60)
SVIRTB_KTEST(svirtb_buffer_crossing_page, 1, 60)
SVIRTB_KTEST(svirtb_bad_register_width, 1, 60)
SVIRTB_KTEST(svirtb_bad_register_offset, 1, 60)
SVIRTB_KTEST(svirtb_bad_status_order, 1, 60)
SVIRTB_KTEST(svirtb_bad_queue, 1, 60)
SVIRTB_KTEST(svirtb_bad_queue_head, 1, 60)
SVIRTB_KTEST(svirtb_bad_entries, 1, 60)
SVIRTB_KTEST(svirtb_concurrent_kicks, 2, 60)
SVIRTB_KTEST(svirtb_durable_write, 1, 60)
