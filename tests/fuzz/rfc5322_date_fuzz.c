/* rfc5322_date_fuzz - libFuzzer target: date parsing; whatever parses must format and
 * parse back to the same second. */
#include <stdint.h>
#include <stdlib.h>

#include "rfc5322_date.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t t, back;
    char buf[RFC5322_DATE_MAX];

    if (rfc5322_date_parse((const char *)data, size, &t) != 0)
        return 0;
    size_t n = rfc5322_date_format(t, 0, "UTC", buf, sizeof(buf));
    if (n == 0)
        return 0; /* years beyond 9999 do not fit the format */
    if (rfc5322_date_parse(buf, n, &back) != 0 || back != t)
        abort();
    return 0;
}
