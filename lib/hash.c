/* hash - FNV-1a (Fowler, Noll, Vo), 32 bits: one multiply per byte, good enough spread
 * for tables that are at most half full. */
#include "hash.h"

#define FNV32_OFFSET 2166136261u
#define FNV32_PRIME 16777619u

uint32_t hash_bytes(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint32_t h = FNV32_OFFSET;

    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * FNV32_PRIME;
    return h;
}

uint32_t hash_str(const char *s)
{
    uint32_t h = FNV32_OFFSET;

    while (*s)
        h = (h ^ (unsigned char)*s++) * FNV32_PRIME;
    return h;
}
