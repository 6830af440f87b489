/* received_fuzz - libFuzzer target: Received: values; every field must lie in the input. */
#include <stdint.h>
#include <stdlib.h>

#include "received.h"

#define INSIDE(p, n) ((n) == 0 || ((const uint8_t *)(p) >= data && (const uint8_t *)(p) + (n) <= data + size))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct received r;

    received_parse((const char *)data, size, &r);
    if (!INSIDE(r.from, r.from_len) || !INSIDE(r.by, r.by_len) || !INSIDE(r.with, r.with_len) ||
        !INSIDE(r.id, r.id_len) || !INSIDE(r.for_, r.for_len))
        abort();
    return 0;
}
