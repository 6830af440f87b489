/* addr - numeric socket addresses: parse "IP:PORT" / "[IPv6]:PORT", format them, and
 * open listening sockets. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"

int addr_parse(const char *text, int default_port, struct sockaddr_storage *ss, socklen_t *len,
               char *err, size_t errlen)
{
    char host[ADDR_TEXT_MAX];
    const char *port_text = NULL;
    long port = default_port;

    memset(ss, 0, sizeof(*ss));
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || (size_t)(close - text - 1) >= sizeof(host)) {
            snprintf(err, errlen, "'%s': unterminated '[' in address", text);
            return -1;
        }
        memcpy(host, text + 1, (size_t)(close - text - 1));
        host[close - text - 1] = 0;
        if (close[1] == ':')
            port_text = close + 2;
        else if (close[1] != 0) {
            snprintf(err, errlen, "'%s': expected ':PORT' after ']'", text);
            return -1;
        }
    } else {
        const char *colon = strrchr(text, ':');
        if (colon && strchr(text, ':') != colon) {
            snprintf(err, errlen, "'%s': write IPv6 addresses as [ADDR]:PORT", text);
            return -1;
        }
        size_t n = colon ? (size_t)(colon - text) : strlen(text);
        if (n >= sizeof(host)) {
            snprintf(err, errlen, "'%s': address too long", text);
            return -1;
        }
        memcpy(host, text, n);
        host[n] = 0;
        if (colon)
            port_text = colon + 1;
    }
    if (port_text) {
        char *end;
        errno = 0;
        port = strtol(port_text, &end, 10);
        if (errno || *end || end == port_text || port < 0 || port > 65535) {
            snprintf(err, errlen, "'%s': bad port '%s'", text, port_text);
            return -1;
        }
    } else if (default_port < 0) {
        snprintf(err, errlen, "'%s': missing ':PORT'", text);
        return -1;
    }
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (host[0] == 0 || strcmp(host, "*") == 0) {
        in4->sin_family = AF_INET;
        in4->sin_addr.s_addr = htonl(INADDR_ANY);
        in4->sin_port = htons((uint16_t)port);
        *len = sizeof(*in4);
    } else if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        *len = sizeof(*in4);
    } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*in6);
    } else {
        snprintf(err, errlen, "'%s': '%s' is not a numeric IPv4 or IPv6 address", text, host);
        return -1;
    }
    return 0;
}

size_t addr_format(const struct sockaddr *sa, char *buf, size_t size, int with_port)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    int n;

    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip, sizeof(ip));
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof(ip));
    else if (sa->sa_family == AF_UNIX)
        snprintf(ip, sizeof(ip), "local");
    if (!with_port)
        n = snprintf(buf, size, "%s", ip);
    else if (sa->sa_family == AF_INET6)
        n = snprintf(buf, size, "[%s]:%u", ip, addr_port(sa));
    else
        n = snprintf(buf, size, "%s:%u", ip, addr_port(sa));
    return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

unsigned addr_port(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)sa)->sin_port);
    if (sa->sa_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    return 0;
}

int addr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
    if (a->sa_family != b->sa_family)
        return 0;
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->sa_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
        return x->sin6_port == y->sin6_port &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
    }
    return 0;
}

int addr_listen(const struct sockaddr *sa, socklen_t len, int backlog, int flags, char *err,
                size_t errlen)
{
    char text[ADDR_TEXT_MAX];
    int one = 1;
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    addr_format(sa, text, sizeof(text), 1);
    if (fd < 0) {
        snprintf(err, errlen, "%s: socket: %s", text, strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (sa->sa_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if ((flags & ADDR_LISTEN_TRANSPARENT) && setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one)) != 0) {
        snprintf(err, errlen, "%s: IP_TRANSPARENT: %s", text, strerror(errno));
        close(fd);
        return -1;
    }
    if ((flags & ADDR_LISTEN_REUSEPORT) && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
        snprintf(err, errlen, "%s: SO_REUSEPORT: %s", text, strerror(errno));
        close(fd);
        return -1;
    }
    if (bind(fd, sa, len) != 0) {
        snprintf(err, errlen, "%s: cannot bind: %s", text, strerror(errno));
        close(fd);
        return -1;
    }
    if (listen(fd, backlog) != 0) {
        snprintf(err, errlen, "%s: cannot listen: %s", text, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}
