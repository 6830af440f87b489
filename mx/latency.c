/* latency - per-message latencies from arrival time, the Received: chain, Date: and the
 * mua's stamp. Pure arithmetic; missing inputs give NAN, never zero. */
#include <math.h>

#include "latency.h"

void latency_compute(const struct latency_input *in, struct latency *out)
{
    double arrival = (double)in->arrival_us / 1e6;

    out->relay_s = in->has_oldest ? arrival - (double)in->oldest_rcv_s : NAN;
    if (in->has_stamp)
        out->e2e_s = (double)(in->arrival_us - in->sent_us) / 1e6;
    else if (in->has_date)
        out->e2e_s = arrival - (double)in->date_s;
    else
        out->e2e_s = NAN;
    out->e2e_intended_s = in->has_stamp ? (double)(in->arrival_us - in->intended_us) / 1e6 : NAN;
    out->relay_hdr_s =
        in->has_newest && in->has_oldest ? (double)(in->newest_rcv_s - in->oldest_rcv_s) : NAN;
    out->e2e_hdr_s = in->has_newest && in->has_date ? (double)(in->newest_rcv_s - in->date_s) : NAN;
}

int latency_origin_us(const struct latency_input *in, int64_t *us)
{
    if (in->has_stamp) {
        *us = in->sent_us;
        return 0;
    }
    if (in->has_date) {
        *us = in->date_s * 1000000;
        return 0;
    }
    return -1;
}
