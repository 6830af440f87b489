/* listener_test - listening sets: every accepted connection reaches the callback with
 * its peer and listener index; a set knows its own addresses (a wildcard listener owns
 * every address on its port), so the proxy can refuse to connect to itself. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include "table.h"
#include "listener.h"

struct seen {
    int accepted, index;
    char peer[64];
};

static void on_accept(void *ctx, int fd, const struct sockaddr_storage *peer, int index)
{
    struct seen *s = ctx;
    s->accepted++;
    s->index = index;
    inet_ntop(AF_INET, &((const struct sockaddr_in *)peer)->sin_addr, s->peer, sizeof(s->peer));
    close(fd);
}

static struct sockaddr_in bound(const struct listener_set *ls, int i)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    assert_int_equal(getsockname(ls->fd[i], (struct sockaddr *)&sa, &len), 0);
    return sa;
}

static void test_accept_and_own(void **state)
{
    struct ev_loop *loop = ev_default_loop(0);
    static struct listener_set ls;
    struct seen s = {0};
    char err[256];

    (void)state;
    listener_init(&ls, loop, "test", on_accept, &s);
    assert_int_equal(listener_add(&ls, "127.0.0.1:0", 0, err, sizeof(err)), 0);
    assert_int_equal(listener_add(&ls, "0.0.0.0:0", 0, err, sizeof(err)), 0);
    struct sockaddr_in a = bound(&ls, 0), w = bound(&ls, 1);

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    for (int i = 0; i < 200 && s.accepted == 0; i++) {
        ev_run(loop, EVRUN_NOWAIT);
        usleep(1000);
    }
    close(fd);
    assert_int_equal(s.accepted, 1);
    assert_int_equal(s.index, 0);
    assert_string_equal(s.peer, "127.0.0.1");

    assert_true(listener_is_own(&ls, (struct sockaddr *)&a));
    struct sockaddr_in other = a;
    other.sin_port = htons((uint16_t)(ntohs(a.sin_port) ^ 1));
    if (other.sin_port != w.sin_port)
        assert_false(listener_is_own(&ls, (struct sockaddr *)&other));
    struct sockaddr_in any_addr = w; /* the wildcard listener owns 198.18.2.1 on its port */
    inet_pton(AF_INET, "198.18.2.1", &any_addr.sin_addr);
    assert_true(listener_is_own(&ls, (struct sockaddr *)&any_addr));

    assert_int_equal(listener_add(&ls, "no-such-address:25", 0, err, sizeof(err)), -1);
    assert_true(strstr(err, "no-such-address") != NULL);
    listener_stop(&ls);
}

int main(void)
{
    struct CMUnitTest tests[TABLE_TESTS_MAX];
    size_t n = 0;

    TEST_ADD(tests, &n, test_accept_and_own);
    return _cmocka_run_group_tests("listener", tests, n, NULL, NULL);
}
