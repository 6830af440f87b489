/* admission_test - the fair scheduler (proxy/admission.c) driven by scripts of events:
 * each row is a budget, tenant weights, a script and the decisions it must produce. */
#include "table.h"
#include "admission.h"

/* Script words, separated by spaces (a client is a tenant letter and a digit, "a1"):
 *   +a1   a1 arrives: trace "A" (admitted) or "H" (held)
 *   g:a1  a1 got the MX's greeting
 *   -a1   a1's admitted connection ends
 *   x:a1  the MX refused a1 at its greeting: trace "R" (held again) or "P" (pass it on)
 *   c:a1  held a1 goes away
 *   n     next admission: trace the client's name, or "."
 *   N     admissions until none: trace each name, then "."
 *   y:a1  should a1's tenant yield: "Y" or "N"
 *   @S    the clock is S seconds
 *   L     trace the limit ("inf" when unlimited)
 *   O     trace open/held, as "o3h2" */
struct script_case {
    const char *name;
    enum adm_mode mode;
    unsigned limit;
    const char *weights; /* "a2 b1": tenant a weight 2, b weight 1; others 1 */
    const char *script;
    const char *trace;
};

#define CLIENTS_MAX 64

struct client {
    char name[4];
    struct adm_waiter w;
    int used, greeted;
};

static struct client clients[CLIENTS_MAX];

static struct client *client_get(const char *name)
{
    for (int i = 0; i < CLIENTS_MAX; i++)
        if (clients[i].used && strcmp(clients[i].name, name) == 0)
            return &clients[i];
    for (int i = 0; i < CLIENTS_MAX; i++)
        if (!clients[i].used) {
            clients[i].used = 1;
            snprintf(clients[i].name, sizeof(clients[i].name), "%s", name);
            return &clients[i];
        }
    fail_msg("too many clients");
    return NULL;
}

static struct client *client_of(struct adm_waiter *w)
{
    return w ? (struct client *)((char *)w - offsetof(struct client, w)) : NULL;
}

static double weight_of(const char *weights, char tenant)
{
    for (const char *p = weights; p && *p; p++)
        if (*p == tenant && (p == weights || p[-1] == ' '))
            return atof(p + 1);
    return 1;
}

static void append(char *trace, size_t size, const char *word)
{
    if (trace[0])
        strncat(trace, " ", size - strlen(trace) - 1);
    strncat(trace, word, size - strlen(trace) - 1);
}

static void test_script(void **state)
{
    const struct script_case *tc = *state;
    struct adm_dest d;
    char script[1024], trace[1024] = "", word[32];
    int64_t now = 0;

    memset(clients, 0, sizeof(clients));
    adm_dest_init(&d, tc->mode, tc->limit);
    snprintf(script, sizeof(script), "%s", tc->script);
    for (char *save = NULL, *tok = strtok_r(script, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        const char *arg = strchr(tok, ':') ? strchr(tok, ':') + 1 : tok + 1;
        struct client *c = NULL;
        struct adm_waiter *w;
        switch (tok[0]) {
        case '+':
            c = client_get(arg);
            append(trace, sizeof(trace),
                   adm_arrive(&d, (uint64_t)arg[0], c->name, weight_of(tc->weights, arg[0]), &c->w, now) ==
                           ADM_ADMIT ? "A" : "H");
            break;
        case 'g':
            c = client_get(arg);
            c->greeted = 1;
            adm_greeted(&d, (uint64_t)arg[0]);
            break;
        case '-':
            c = client_get(arg);
            adm_release(&d, (uint64_t)arg[0], c->greeted);
            c->used = 0;
            break;
        case 'x':
            c = client_get(arg);
            append(trace, sizeof(trace), adm_refused(&d, (uint64_t)arg[0], &c->w, now) ? "R" : "P");
            break;
        case 'c':
            c = client_get(arg);
            adm_cancel(&d, &c->w);
            c->used = 0;
            break;
        case 'n':
            w = adm_next(&d, now);
            append(trace, sizeof(trace), w ? client_of(w)->name : ".");
            break;
        case 'N':
            while ((w = adm_next(&d, now)) != NULL)
                append(trace, sizeof(trace), client_of(w)->name);
            append(trace, sizeof(trace), ".");
            break;
        case 'y':
            append(trace, sizeof(trace), adm_should_yield(&d, (uint64_t)arg[0]) ? "Y" : "N");
            break;
        case '@':
            now = (int64_t)(atof(arg) * 1e6);
            break;
        case 'L':
            if (d.limit == ADM_UNLIMITED)
                snprintf(word, sizeof(word), "inf");
            else
                snprintf(word, sizeof(word), "%u", d.limit);
            append(trace, sizeof(trace), word);
            break;
        case 'O':
            snprintf(word, sizeof(word), "o%uh%u", d.open, d.held);
            append(trace, sizeof(trace), word);
            break;
        default:
            fail_msg("bad script word '%s'", tok);
        }
    }
    assert_string_equal(trace, tc->trace);
    adm_dest_free(&d);
}

static const struct script_case script_cases[] = {
    {"no budget admits everyone", ADM_MODE_NONE, 0, "",
     "+a1 +a2 +a3 +b1 O", "A A A A o4h0"},
    {"fixed budget holds beyond it", ADM_MODE_FIXED, 2, "",
     "+a1 +a2 +a3 +b1 O", "A A H H o2h2"},
    {"a freed slot goes to the tenant with fewer open", ADM_MODE_FIXED, 2, "",
     "+a1 +a2 +a3 +a4 +b1 -a1 n O", "A A H H H b1 o2h2"},
    {"ties go to the one waiting longest", ADM_MODE_FIXED, 1, "",
     "+a1 @1 +b1 @2 +c1 -a1 n", "A H H b1"},
    {"ties by open count then age", ADM_MODE_FIXED, 2, "",
     "+a1 +b1 @1 +c1 @2 +a2 @3 +b2 -a1 n -b1 n", "A A H H H c1 a2"},
    {"admissions alternate between groups", ADM_MODE_FIXED, 3, "",
     "+a1 +a2 +a3 +a4 +a5 +b1 +b2 +c1 +c2 -a1 n -a2 n -a3 n -b1 n -c1 n",
     "A A A H H H H H H b1 c1 a4 b2 c2"},
    {"no slot, no admission", ADM_MODE_FIXED, 1, "", "+a1 +b1 n N", "A H . ."},
    {"weights: twice the weight, twice the share", ADM_MODE_FIXED, 3, "a2",
     "+x1 +x2 +x3 +a1 +a2 +a3 +b1 +b2 +b3 -x1 n -x2 n -x3 n",
     "A A A H H H H H H a1 b1 a2"},
    {"weight below one", ADM_MODE_FIXED, 2, "a0.5",
     "+x1 +x2 +a1 +a2 +b1 -x1 n -x2 n", "A A H H H a1 b1"},
    {"cancel a held client", ADM_MODE_FIXED, 1, "", "+a1 +b1 +c1 c:b1 -a1 n O", "A H H c1 o1h0"},
    {"cancel the only waiter of a tenant", ADM_MODE_FIXED, 1, "", "+a1 +b1 c:b1 -a1 n O", "A H . o0h0"},
    {"held clients keep their order within a tenant", ADM_MODE_FIXED, 1, "",
     "+a1 +b1 +b2 +b3 -a1 n -b1 n -b2 n", "A H H H b1 b2 b3"},
    {"arrivals wait behind held ones even with room", ADM_MODE_FIXED, 1, "",
     "+a1 +b1 -a1 +c1 n", "A H H b1"},
    {"auto: unlimited until a refusal", ADM_MODE_AUTO, 0, "",
     "+a1 +a2 +a3 L O", "A A A inf o3h0"},
    {"auto: a refusal with k greeted teaches k", ADM_MODE_AUTO, 0, "",
     "+a1 +a2 +a3 g:a1 g:a2 x:a3 L O n", "A A A R 2 o2h1 ."},
    {"auto: the largest in one burst", ADM_MODE_AUTO, 0, "",
     "+a1 +a2 +a3 +a4 g:a1 x:a3 L g:a2 @1 x:a4 L", "A A A A R 1 R 2"},
    {"auto: a later burst starts over", ADM_MODE_AUTO, 0, "",
     "+a1 +a2 +a3 g:a1 g:a2 x:a3 L -a2 @10 +b1 x:b1 L", "A A A R 2 H R 1"},
    {"auto: greetings read after a refusal raise the limit", ADM_MODE_AUTO, 0, "",
     "+a1 +a2 +a3 +a4 g:a1 x:a4 L g:a2 L g:a3 L", "A A A A R 1 2 3"},
    {"fixed: greetings raise a lowered limit back, not beyond", ADM_MODE_FIXED, 3, "",
     "+a1 +a2 +a3 g:a1 x:a3 L g:a2 L -a1 +a4 n", "A A A R 1 2 H a3"},
    {"auto: a refusal with nobody greeted is passed on", ADM_MODE_AUTO, 0, "",
     "+a1 x:a1 L O", "A P inf o0h0"},
    {"no budget: refusals are passed on", ADM_MODE_NONE, 0, "",
     "+a1 +a2 g:a1 x:a2 O", "A A P o1h0"},
    {"fixed: a refusal lowers the limit below the ceiling", ADM_MODE_FIXED, 3, "",
     "+a1 +a2 +a3 g:a1 g:a2 x:a3 L O", "A A A R 2 o2h1"},
    {"refused client goes first in its queue", ADM_MODE_FIXED, 3, "",
     "+a1 +a2 +a3 +a4 g:a1 g:a2 x:a3 -a1 n", "A A A H R a3"},
    {"probe one more after a quiet period", ADM_MODE_AUTO, 0, "",
     "+a1 +a2 g:a1 x:a2 L @10 n @31 n L", "A A R 1 . a2 2"},
    {"no probe without waiters", ADM_MODE_AUTO, 0, "",
     "+a1 +a2 g:a1 x:a2 c:a2 @100 n L", "A A R . 1"},
    {"probe stops at a fixed ceiling", ADM_MODE_FIXED, 2, "",
     "+a1 +a2 +a3 g:a1 x:a2 L @40 n L @80 n L", "A A H R 1 a2 2 . 2"},
    {"a failed probe goes back", ADM_MODE_AUTO, 0, "",
     "+a1 +a2 g:a1 x:a2 @31 n x:a2 L", "A A R a2 R 1"},
    {"yield: another waits with two fewer", ADM_MODE_FIXED, 3, "",
     "+a1 +a2 +a3 +b1 y:a1", "A A A H Y"},
    {"yield: two more than a waiter with none", ADM_MODE_FIXED, 3, "",
     "+a1 +a2 +b1 +c1 y:a1 y:b1", "A A A H Y N"},
    {"no yield: one more than the waiter", ADM_MODE_FIXED, 3, "",
     "+a1 +a2 +b1 +b2 y:a1 y:b1", "A A A H N N"},
    {"no yield when nobody waits", ADM_MODE_FIXED, 2, "", "+a1 +a2 y:a1", "A A N"},
    {"yield by weight", ADM_MODE_FIXED, 4, "a3",
     "+a1 +a2 +a3 +a4 +b1 y:a1 -a4 n y:a1", "A A A A H Y b1 N"},
    {"over the lowered limit the largest yields", ADM_MODE_FIXED, 4, "",
     "+a1 +a2 +b1 +c1 +c2 g:a1 g:a2 g:b1 x:c1 y:a1 y:b1", "A A A A H R Y N"},
    {"released tenants are forgotten", ADM_MODE_FIXED, 1, "",
     "+a1 -a1 +b1 -b1 O", "A A o0h0"},
};

static void test_idle(void **state)
{
    struct adm_dest d;
    struct adm_waiter w1, w2;

    (void)state;
    adm_dest_init(&d, ADM_MODE_AUTO, 0);
    assert_true(adm_dest_idle(&d));
    assert_int_equal(adm_arrive(&d, 1, "t1", 1, &w1, 0), ADM_ADMIT);
    assert_false(adm_dest_idle(&d));
    assert_int_equal(adm_arrive(&d, 1, "t1", 1, &w2, 0), ADM_ADMIT);
    adm_greeted(&d, 1);
    assert_int_equal(adm_refused(&d, 1, &w2, 0), 1);
    adm_cancel(&d, &w2);
    adm_release(&d, 1, 1);
    assert_false(adm_dest_idle(&d)); /* it learned a limit: kept */
    adm_set_budget(&d, ADM_MODE_AUTO, 0);
    assert_int_equal(d.limit, 1);     /* a reload in auto keeps what was learned */
    adm_set_budget(&d, ADM_MODE_FIXED, 5);
    assert_int_equal(d.limit, 5);
    assert_true(adm_dest_idle(&d));
    adm_dest_free(&d);
}

static void test_tenant_table_full(void **state)
{
    struct adm_dest d;
    static struct adm_waiter w[ADM_TENANTS_MAX + 1];

    (void)state;
    adm_dest_init(&d, ADM_MODE_FIXED, 1);
    for (unsigned i = 0; i < ADM_TENANTS_MAX; i++)
        assert_int_not_equal(adm_arrive(&d, i + 1, NULL, 1, &w[i], 0), ADM_FULL);
    assert_int_equal(adm_arrive(&d, ADM_TENANTS_MAX + 1, NULL, 1, &w[ADM_TENANTS_MAX], 0), ADM_FULL);
    assert_string_equal(adm_tenant_get(&d, 1)->name, "");
    assert_int_equal(d.held, ADM_TENANTS_MAX - 1);
    for (unsigned i = 1; i < ADM_TENANTS_MAX; i++)
        adm_cancel(&d, &w[i]);
    adm_release(&d, 1, 0);
    assert_int_equal(d.ntenants, 0);
    adm_dest_free(&d);
}

int main(void)
{
    static struct CMUnitTest tests[TABLE_TESTS_MAX];
    size_t n = 0;

    TABLE_ADD(tests, &n, script_cases, test_script);
    TEST_ADD(tests, &n, test_idle);
    TEST_ADD(tests, &n, test_tenant_table_full);
    return _cmocka_run_group_tests("admission", tests, n, NULL, NULL);
}
