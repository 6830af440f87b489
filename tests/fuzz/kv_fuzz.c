/* kv_fuzz - libFuzzer target: configuration lines; keys and values point inside the line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char line[KV_LINE_MAX + 1], err[256];
    char *key = NULL, *value = NULL;

    if (size > KV_LINE_MAX)
        return 0;
    memcpy(line, data, size);
    line[size] = 0;
    int r = kv_parse_line(line, &key, &value, err, sizeof(err));
    if (r > 0 && (key < line || key > line + size))
        abort();
    if (r == 1 && (value < line || value > line + size))
        abort();
    return 0;
}
