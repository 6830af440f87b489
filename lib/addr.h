/* addr - numeric socket addresses: parse "IP:PORT" / "[IPv6]:PORT", format them, and
 * open listening sockets. Used by every daemon and by the mua. No DNS, by design. */
#ifndef LIB_ADDR_H
#define LIB_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

#define ADDR_TEXT_MAX 64 /* "[ffff:...:ffff]:65535" and NUL */

/* addr_parse - parse text into ss (port required unless default_port >= 0).
 * Returns 0, or -1 with a reason in err. */
int addr_parse(const char *text, int default_port, struct sockaddr_storage *ss, socklen_t *len,
               char *err, size_t errlen);

/* addr_format - "IP:PORT" (IPv6 in brackets), or just "IP" when with_port is 0. */
size_t addr_format(const struct sockaddr *sa, char *buf, size_t size, int with_port);

/* addr_port - the port of an AF_INET/AF_INET6 address, 0 otherwise. */
unsigned addr_port(const struct sockaddr *sa);

/* addr_equal - same family, address and port. */
int addr_equal(const struct sockaddr *a, const struct sockaddr *b);

#define ADDR_LISTEN_TRANSPARENT 1 /* IP_TRANSPARENT: accept for any address (TPROXY) */
#define ADDR_LISTEN_REUSEPORT 2   /* SO_REUSEPORT: one socket per worker on one address */

/* addr_listen - a non-blocking listening socket with SO_REUSEADDR and the ADDR_LISTEN_*
 * flags asked for; returns the fd, or -1 with a reason in err. */
int addr_listen(const struct sockaddr *sa, socklen_t len, int backlog, int flags, char *err,
                size_t errlen);

#endif
