/* numparse_fuzz - libFuzzer target: any text as a number; what parses is in range and
 * reads back the same through the C library. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "numparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[64];
    double d;
    uint64_t u;

    if (size >= sizeof(text))
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    if (numparse_double(text, -1e6, 1e6, &d) == 0 && (d < -1e6 || d > 1e6 || d != strtod(text, NULL)))
        abort();
    if (numparse_u64(text, 1000000, &u) == 0 && (u > 1000000 || u != strtoull(text, NULL, 10)))
        abort();
    return 0;
}
