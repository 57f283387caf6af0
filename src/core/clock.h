/* clock.h - wall-clock and monotonic time. */
#ifndef SERAC_CORE_CLOCK_H
#define SERAC_CORE_CLOCK_H

#include <stdint.h>

/* clock_now_ms returns milliseconds since the Unix epoch (wall clock). */
int64_t clock_now_ms(void);
/* clock_mono_ns returns a monotonic time in nanoseconds, for durations. */
int64_t clock_mono_ns(void);
/* clock_sleep_ms sleeps for ms milliseconds (restarting on signals). */
void clock_sleep_ms(int64_t ms);

#endif
