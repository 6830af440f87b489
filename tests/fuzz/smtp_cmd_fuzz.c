/* smtp_cmd_fuzz - libFuzzer target: the command parser on arbitrary lines; every
 * pointer it returns must lie inside the input. */
#include <stdint.h>
#include <stdlib.h>

#include "smtp_cmd.h"

#define INSIDE(p, n) ((p) == NULL || ((const uint8_t *)(p) >= data && (const uint8_t *)(p) + (n) <= data + size))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct smtp_cmd cmd;

    smtp_cmd_parse((const char *)data, size, &cmd);
    if (!INSIDE(cmd.arg, cmd.arg_len) || !INSIDE(cmd.path, cmd.path_len))
        abort();
    for (size_t i = 0; i < cmd.nparams; i++)
        if (!INSIDE(cmd.params[i].key, cmd.params[i].key_len) ||
            !INSIDE(cmd.params[i].value, cmd.params[i].value_len))
            abort();
    return 0;
}
