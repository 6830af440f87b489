/* memtrim - give memory back to the system after a burst of sessions ends: the C
 * library keeps freed session buffers for reuse, so without this a daemon's RSS stays
 * at its busiest moment's. Used by the proxy and the SMTP server engine. */
#ifndef LIB_MEMTRIM_H
#define LIB_MEMTRIM_H

#define MEMTRIM_MIN_DROP 64 /* sessions gone since the peak before a trim is worth it */

/* memtrim_sessions - say how many sessions are open now (after an open or a close);
 * trims the heap when the count has fallen to half its peak, by MEMTRIM_MIN_DROP or more. */
void memtrim_sessions(unsigned open);

/* memtrim_due - whether open sessions, after a peak of peak, call for a trim (pure). */
int memtrim_due(unsigned peak, unsigned open);

#endif
