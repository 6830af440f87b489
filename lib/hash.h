/* hash - FNV-1a, the one string and byte hash of the harness's open-addressing tables
 * (the tarpit's clients, the collector's names, Message-IDs and submissions). */
#ifndef LIB_HASH_H
#define LIB_HASH_H

#include <stddef.h>
#include <stdint.h>

/* hash_bytes - 32-bit FNV-1a of data[0..len). */
uint32_t hash_bytes(const void *data, size_t len);

/* hash_str - 32-bit FNV-1a of a NUL-terminated string (without the NUL). */
uint32_t hash_str(const char *s);

#endif
