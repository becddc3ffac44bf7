/* clock.h: the monotonic clock in seconds, for the elapsed times the tools print (opml's commands,
 * their measures and tests). Header-only: one inline function, no state. Not for anything that is
 * committed or compared across machines: it is wall time on this one. */
#ifndef OPML_CLOCK_H
#define OPML_CLOCK_H

#include <time.h>

/* Seconds since an arbitrary fixed point (CLOCK_MONOTONIC): differences are elapsed time. */
static inline double opml_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#endif
