// Placement of the code that runs inside the SIGPROF handler.
//
// At 99 Hz every signal finds the handler's code out of the caches and the
// TLB. Spread over the source files' own sections it sat on four pages of
// the addon's text (signal-handler, stack-walker, unwind-table,
// thread-cpu-clock), each a possible iTLB miss, which inside a VM costs a
// two-level page walk. Functions marked LABELPROF_SIGNAL_PATH go to one
// .text.hot.* section, which the linker's default script places together,
// so the whole path spans one or two pages.
#pragma once

#define LABELPROF_SIGNAL_PATH __attribute__((section(".text.hot.labelprof_signal")))
