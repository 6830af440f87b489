/* json_read_fuzz - libFuzzer target: the JSON reader; tokens stay inside the input, and
 * every string it accepts can be unescaped. */
#include <stdint.h>
#include <stdlib.h>

#include "json_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct json_token tok[256];
    char out[4096];
    int n = json_read((const char *)data, size, tok, 256);

    for (int i = 0; i < n; i++) {
        if ((size_t)tok[i].start + tok[i].len > size || tok[i].next > (unsigned)n)
            abort();
        if (tok[i].type == JSON_STRING)
            json_string((const char *)data, tok, i, out, sizeof(out));
        if (tok[i].type == JSON_OBJECT)
            json_member((const char *)data, tok, i, "t_us");
    }
    return 0;
}
