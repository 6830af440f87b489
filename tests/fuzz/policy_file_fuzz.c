/* policy_file_fuzz - libFuzzer target: any text as a policy file; a file that parses
 * must give lookups that point inside it. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct policy p;
    char err[512];
    struct policy_match m;
    struct sockaddr_in c = {.sin_family = AF_INET}, d = {.sin_family = AF_INET, .sin_port = htons(25)};

    if (policy_init(&p) != 0)
        return 0;
    if (policy_parse(&p, "fuzz", (const char *)data, size, err, sizeof(err)) == 0) {
        for (unsigned i = 0; i < p.ntmatch; i++) {
            memcpy(&c.sin_addr, p.tmatch[i].addr, 4);
            memcpy(&d.sin_addr, p.dmatch[i % (p.ndmatch ? p.ndmatch : 1)].addr, 4);
            policy_lookup(&p, (struct sockaddr *)&c, (struct sockaddr *)&d, &m);
            if (m.tenant && (m.tenant < p.tenants || m.tenant >= p.tenants + p.ntenants))
                abort();
            if (m.dest && (m.dest < p.dests || m.dest >= p.dests + p.ndests))
                abort();
        }
    } else if (strncmp(err, "fuzz:", 5) != 0) {
        abort(); /* every error names the file */
    }
    policy_free(&p);
    return 0;
}
