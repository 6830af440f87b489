/* memtrim - give memory back to the system after a burst of sessions ends.
 * One high-water mark per process (the programs are single-threaded). */
#include <malloc.h>

#include "memtrim.h"

static unsigned peak;

int memtrim_due(unsigned peak_open, unsigned open)
{
    return open < peak_open && peak_open - open >= MEMTRIM_MIN_DROP && open <= peak_open / 2;
}

void memtrim_sessions(unsigned open)
{
    if (open > peak) {
        peak = open;
        return;
    }
    if (memtrim_due(peak, open)) {
        malloc_trim(0);
        peak = open;
    }
}
