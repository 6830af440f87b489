/* memtrim - give memory back to the system after a burst of sessions ends.
 * One high-water mark per process (the programs are single-threaded). */
#include <malloc.h>

#include "memtrim.h"

static unsigned peak;

void memtrim_sessions(unsigned open)
{
    if (open > peak) {
        peak = open;
        return;
    }
    if (peak - open >= MEMTRIM_MIN_DROP && open <= peak / 2) {
        malloc_trim(0);
        peak = open;
    }
}
