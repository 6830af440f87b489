/* latency - per-message latencies from arrival time, the Received: chain, Date: and the
 * mua's stamp, in the harness's forms (us precision) and the study's header-only forms
 * (1 s resolution). Used by collect. */
#ifndef MX_LATENCY_H
#define MX_LATENCY_H

#include <stdint.h>

/* What is known of one message; has_* say which fields are present. */
struct latency_input {
    int64_t arrival_us;   /* at the MX, end of DATA (or the file's time) */
    int64_t newest_rcv_s; /* the MX's own Received: (or what it would have stamped) */
    int64_t oldest_rcv_s; /* the first hop's Received: (the MSA's) */
    int64_t date_s;       /* Date: */
    int64_t sent_us;      /* X-Mua-Stamp sent= */
    int64_t intended_us;  /* X-Mua-Stamp intended= */
    int has_newest, has_oldest, has_date, has_stamp;
};

/* Seconds; NAN where an input is missing. */
struct latency {
    double relay_s;        /* arrival - oldest Received */
    double e2e_s;          /* arrival - sent (stamp), else arrival - Date */
    double e2e_intended_s; /* arrival - intended (stamp): free of coordinated omission */
    double relay_hdr_s;    /* newest Received - oldest Received (the study's form) */
    double e2e_hdr_s;      /* newest Received - Date (the study's form) */
};

/* latency_compute - fill out from in. */
void latency_compute(const struct latency_input *in, struct latency *out);

/* latency_origin_us - the time a message's run clock starts from: sent, else Date;
 * returns 0 and sets *us, or -1 when neither is known. */
int latency_origin_us(const struct latency_input *in, int64_t *us);

#endif
