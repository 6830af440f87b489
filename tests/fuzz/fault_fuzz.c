/* fault_fuzz - libFuzzer target: any text as a fault line; a fault that parses formats
 * to a text that parses to the same fault again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[300], out[FAULT_TEXT_MAX], err[256];
    struct fault a, b;

    if (size >= sizeof(text))
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    if (fault_parse(text, 9, &a, err, sizeof(err)) != 0)
        return 0;
    fault_format(&a, out, sizeof(out));
    if (fault_parse(out, 9, &b, err, sizeof(err)) != 0 || a.action != b.action || a.mx != b.mx ||
        a.percent != b.percent || strcmp(a.link, b.link) != 0)
        abort();
    return 0;
}
