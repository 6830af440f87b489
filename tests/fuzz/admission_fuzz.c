/* admission_fuzz - libFuzzer target: the fair scheduler under any sequence of events;
 * its counts must always agree with the clients the fuzzer keeps. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admission.h"

#define CLIENTS 32

enum cstate { FREE = 0, HELD, OPEN, GREETED };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct adm_dest d;
    struct adm_waiter w[CLIENTS];
    enum cstate st[CLIENTS] = {0};
    int64_t now = 0;

    if (size < 2)
        return 0;
    adm_dest_init(&d, (enum adm_mode)(data[0] % 3), data[1] % 8);
    for (size_t i = 2; i + 1 < size; i += 2) {
        unsigned op = data[i] % 8, c = data[i + 1] % CLIENTS;
        uint64_t tenant = 1 + c % 5;
        struct adm_waiter *x;
        now += (data[i] >> 3) * 500000LL;
        switch (op) {
        case 0: /* arrive */
            if (st[c] != FREE)
                break;
            switch (adm_arrive(&d, tenant, "t", 1 + (c % 3), &w[c], now)) {
            case ADM_ADMIT: st[c] = OPEN; break;
            case ADM_HOLD: st[c] = HELD; break;
            case ADM_FULL: abort();
            }
            break;
        case 1: /* next */
            if ((x = adm_next(&d, now)) != NULL) {
                unsigned k = (unsigned)(x - w);
                if (k >= CLIENTS || st[k] != HELD)
                    abort();
                st[k] = OPEN;
            }
            break;
        case 2:
            if (st[c] == OPEN) {
                adm_greeted(&d, tenant);
                st[c] = GREETED;
            }
            break;
        case 3:
            if (st[c] == OPEN || st[c] == GREETED) {
                adm_release(&d, tenant, st[c] == GREETED);
                st[c] = FREE;
            }
            break;
        case 4:
            if (st[c] == OPEN)
                st[c] = adm_refused(&d, tenant, &w[c], now) ? HELD : FREE;
            break;
        case 5:
            if (st[c] == HELD) {
                adm_cancel(&d, &w[c]);
                st[c] = FREE;
            }
            break;
        case 6:
            (void)adm_should_yield(&d, tenant);
            break;
        case 7:
            adm_set_budget(&d, (enum adm_mode)(data[i + 1] % 3), data[i + 1] % 6);
            break;
        }
        unsigned open = 0, held = 0, ready = 0;
        for (unsigned k = 0; k < CLIENTS; k++) {
            open += st[k] == OPEN || st[k] == GREETED;
            ready += st[k] == GREETED;
            held += st[k] == HELD;
        }
        if (open != d.open || held != d.held || ready != d.ready)
            abort();
    }
    for (unsigned k = 0; k < CLIENTS; k++)
        if (st[k] == HELD)
            adm_cancel(&d, &w[k]);
    adm_dest_free(&d);
    return 0;
}
