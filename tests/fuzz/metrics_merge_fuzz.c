/* metrics_merge_fuzz - libFuzzer target: the input split at NUL bytes into texts, merged;
 * merging the result again with nothing must give it back unchanged (it is a fixed point),
 * and no output line may be longer than its input allows. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_merge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct metrics_text in[4];
    int n = 0;
    size_t off = 0;
    char *out = NULL, *again = NULL;
    size_t len, len2;
    unsigned skipped, skipped2;

    while (off <= size && n < 4) {
        const uint8_t *z = memchr(data + off, 0, size - off);
        size_t k = z ? (size_t)(z - (data + off)) : size - off;
        in[n].buf = (const char *)data + off;
        in[n].len = k;
        n++;
        off += k + 1;
    }
    if (metrics_merge(in, n, &out, &len, &skipped) != 0)
        return 0;
    if (strlen(out) != len) /* no NUL inside: inputs were split at them */
        abort();
    struct metrics_text one = {out, len};
    if (metrics_merge(&one, 1, &again, &len2, &skipped2) != 0) {
        free(out);
        return 0;
    }
    if (skipped2 != 0 || len2 != len || memcmp(again, out, len) != 0)
        abort();
    free(out);
    free(again);
    return 0;
}
