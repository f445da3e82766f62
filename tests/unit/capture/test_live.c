/* SPDX-License-Identifier: MIT */
/* test_live.c: the live capture source (capture/live.h). Option and error paths run anywhere; capturing
 * our own loopback traffic, stopping and dropping root run only as root and are skipped with a note
 * otherwise. Expected values come from what the test itself sends (ports, payload) and from
 * pcap-linktype(7) (lo is LINKTYPE_ETHERNET 1, "any" is LINKTYPE_LINUX_SLL2 276). */
#include "../testlib.h"

#include "../../../capture/cursor.h"
#include "../../../capture/decode.h"
#include "../../../capture/live.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LINKTYPE_ETHERNET 1u
#define LINKTYPE_LINUX_SLL2 276u
#define TCP_PAYLOAD "tlsdiag-live-test"
#define UDP_PAYLOAD "tlsdiag-live-udp"

static bool is_root(const char *test)
{
    if (geteuid() == 0) {
        return true;
    }
    printf("\n  note: %s needs root (live capture); skipped\n", test);
    return false;
}

static int64_t now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A TCP listener on 127.0.0.1 with a kernel-chosen port; returns the socket, *port its port. */
static int listen_loopback(uint16_t *port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s, 4) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &len) != 0) {
        return -1;
    }
    *port = ntohs(a.sin_port);
    return s;
}

/* A port nothing uses for the duration of a test: bound (so nobody else gets it) but never talked to. */
static int reserve_port(uint16_t *port)
{
    return listen_loopback(port);
}

static struct td_live *open_lo(const char *filter, uint32_t timeout_ms)
{
    struct td_live_options o = {.iface = "lo", .filter = filter, .timeout_ms = timeout_ms};
    struct td_live *l = NULL;
    struct td_error e = {0};
    enum td_err rc = td_live_open(&o, &l, &e);
    if (rc != TD_OK) {
        printf("\n  td_live_open(lo, %s): %s\n", filter, e.msg);
    }
    return l;
}

/* ---- no privilege needed ---- */

static void test_open_no_such_interface(void)
{
    struct td_live_options o = {.iface = "tdnosuch0"};
    struct td_live *l = (struct td_live *)&o; // must be reset to NULL
    struct td_error e = {0};
    enum td_err rc = td_live_open(&o, &l, &e);
    CU_ASSERT_NOT_EQUAL(rc, TD_OK);
    CU_ASSERT_PTR_NULL(l);
    CU_ASSERT_EQUAL(e.code, rc);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "'tdnosuch0'"));
    if (geteuid() == 0) {
        // Root gets past the socket(2) and libpcap finds no such device.
        CU_ASSERT_EQUAL(rc, TD_ERR_USAGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "no such interface"));
    } else {
        // Without CAP_NET_RAW libpcap 1.10 fails on socket(2) before it looks the device up.
        CU_ASSERT_EQUAL(rc, TD_ERR_IO);
        CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "CAP_NET_RAW,CAP_NET_ADMIN"));
    }
}

static void test_open_bad_options(void)
{
    struct td_live *l = NULL;
    struct td_error e = {0};
    struct td_live_options o = {.iface = "lo", .buffer_mb = TD_LIVE_MAX_BUFFER_MB + 1};
    CU_ASSERT_EQUAL(td_live_open(&o, &l, &e), TD_ERR_USAGE);
    CU_ASSERT_PTR_NULL(l);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "2048 MiB"));
    struct td_live_options empty = {.iface = ""};
    CU_ASSERT_EQUAL(td_live_open(&empty, &l, &e), TD_ERR_USAGE);
    CU_ASSERT_PTR_NULL(l);
    struct td_live_options big_snap = {.iface = "lo", .snaplen = 0x80000000u};
    CU_ASSERT_EQUAL(td_live_open(&big_snap, &l, &e), TD_ERR_USAGE);
    CU_ASSERT_PTR_NULL(l);
}

static void test_filter_check(void)
{
    struct td_error e = {0};
    CU_ASSERT_EQUAL(td_live_filter_check("tcp prot 443", LINKTYPE_ETHERNET, &e), TD_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "'tcp prot 443'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "syntax error")); // libpcap's own reason is passed on
    CU_ASSERT_EQUAL(td_live_filter_check("tcp port 443 or tcp port 8443", LINKTYPE_ETHERNET, &e), TD_OK);
    CU_ASSERT_EQUAL(td_live_filter_check("tcp", LINKTYPE_LINUX_SLL2, &e), TD_OK);
    CU_ASSERT_EQUAL(td_live_filter_check(NULL, LINKTYPE_ETHERNET, &e), TD_OK);
    CU_ASSERT_EQUAL(td_live_filter_check("", LINKTYPE_ETHERNET, &e), TD_OK);
    // Raw IP has no link header: an Ethernet-only primitive must be refused there.
    CU_ASSERT_EQUAL(td_live_filter_check("ether host 02:00:00:00:00:01", 101, &e), TD_ERR_USAGE);
    CU_ASSERT_EQUAL(td_live_filter_check("ether host 02:00:00:00:00:01", LINKTYPE_ETHERNET, &e), TD_OK);
}

static void test_drop_unknown_user(void)
{
    struct td_error e = {0};
    uid_t before = geteuid();
    CU_ASSERT_EQUAL(td_live_drop_privileges("tlsdiag-no-such-user", &e), TD_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "unknown user 'tlsdiag-no-such-user'"));
    CU_ASSERT_EQUAL(geteuid(), before);
    CU_ASSERT_EQUAL(td_live_drop_privileges("", &e), TD_ERR_USAGE);
}

/* td_live_drop_privileges("root") from a process that is not root: exit 0 when refused as expected. */
static int drop_to_root_as_non_root(void)
{
    struct td_error e = {0};
    if (td_live_drop_privileges("root", &e) != TD_ERR_USAGE) {
        return 10;
    }
    if (strstr(e.msg, "not running as root") == NULL || strstr(e.msg, "'root'") == NULL) {
        return 11;
    }
    return 0;
}

static const struct passwd *nobody(void)
{
    const struct passwd *pw = getpwnam("nobody");
    if (pw == NULL || pw->pw_uid == 0) {
        printf("\n  note: no unprivileged user 'nobody' here; skipped\n");
        return NULL;
    }
    return pw;
}

/* Runs fn in a child process and returns its exit status (or 100 + signal). */
static int in_child(int (*fn)(void))
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        _exit(fn());
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) {
        return 99;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

static int become_nobody_then_refuse_root(void)
{
    const struct passwd *pw = getpwnam("nobody");
    if (pw == NULL || setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
        return 20;
    }
    return drop_to_root_as_non_root();
}

static void test_drop_not_root(void)
{
    if (geteuid() != 0) {
        CU_ASSERT_EQUAL(drop_to_root_as_non_root(), 0);
        return;
    }
    if (nobody() == NULL) {
        return;
    }
    CU_ASSERT_EQUAL(in_child(become_nobody_then_refuse_root), 0);
}

/* ---- root only ---- */

static void test_open_bad_filter(void)
{
    if (!is_root(__func__)) {
        return;
    }
    struct td_live_options o = {.iface = "lo", .filter = "tcp prot 443"};
    struct td_live *l = NULL;
    struct td_error e = {0};
    CU_ASSERT_EQUAL(td_live_open(&o, &l, &e), TD_ERR_USAGE);
    CU_ASSERT_PTR_NULL(l);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "invalid capture filter 'tcp prot 443'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "for interface lo"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "syntax error"));
}

/* What the loopback exchange left in the capture. */
struct seen {
    unsigned num_frames;
    unsigned num_bad_numbers, num_bad_ts, num_bad_len, num_not_our_tcp, num_bad_linktype;
    bool saw_syn, saw_payload;
};

/* Reads frames until the link has been quiet for one timeout after at least one frame (or 400 reads). */
static void collect(struct td_live *l, uint16_t port, uint32_t linktype, int64_t t0, struct seen *s)
{
    int64_t last_ts = 0;
    for (int i = 0; i < 400; i++) {
        struct td_frame f;
        struct td_error e = {0};
        enum td_live_status st = td_live_next(l, &f, &e);
        if (st == TD_LIVE_IDLE && s->num_frames > 0) {
            return;
        }
        if (st != TD_LIVE_FRAME) {
            CU_ASSERT_EQUAL(st, TD_LIVE_IDLE);
            continue;
        }
        s->num_frames++;
        s->num_bad_numbers += f.frame != s->num_frames;
        s->num_bad_ts += f.ts_ns < t0 - 1000000000 || f.ts_ns > now_ns(CLOCK_REALTIME) + 1000000000 ||
                         f.ts_ns < last_ts;
        last_ts = f.ts_ns;
        s->num_bad_len += f.caplen == 0 || f.caplen != f.wire_len || f.interface != 0;
        s->num_bad_linktype += f.linktype != linktype;
        struct td_segment seg;
        if (td_decode_frame(f.linktype, f.data, f.caplen, &seg) != TD_DECODE_TCP ||
            (seg.sport != port && seg.dport != port)) {
            s->num_not_our_tcp++;
            continue;
        }
        s->saw_syn |= (seg.flags & (TD_TCP_SYN | TD_TCP_ACK)) == TD_TCP_SYN && seg.dport == port;
        char got[sizeof(TCP_PAYLOAD)] = "";
        struct td_cursor c;
        td_cursor_init(&c, seg.payload, seg.payload_len, 0);
        if (seg.payload_len == strlen(TCP_PAYLOAD) && td_cursor_copy(&c, (uint8_t *)got, seg.payload_len)) {
            s->saw_payload |= strcmp(got, TCP_PAYLOAD) == 0;
        }
    }
}

/* Sends a UDP datagram to port (the filter must hide it), then a TCP exchange carrying TCP_PAYLOAD. */
static bool talk(int listener, uint16_t port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    size_t len = strlen(TCP_PAYLOAD);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    bool ok = u >= 0 && sendto(u, UDP_PAYLOAD, strlen(UDP_PAYLOAD), 0, (struct sockaddr *)&a, sizeof(a)) > 0;
    int c = socket(AF_INET, SOCK_STREAM, 0);
    ok = ok && c >= 0 && connect(c, (struct sockaddr *)&a, sizeof(a)) == 0;
    int s = ok ? accept(listener, NULL, NULL) : -1;
    ok = ok && s >= 0 && send(c, TCP_PAYLOAD, len, 0) == (ssize_t)len;
    char buf[sizeof(TCP_PAYLOAD)];
    ok = ok && recv(s, buf, len, MSG_WAITALL) == (ssize_t)len;
    if (u >= 0) {
        close(u);
    }
    if (c >= 0) {
        close(c);
    }
    if (s >= 0) {
        close(s);
    }
    return ok;
}

static void check_loopback_capture(const char *iface, uint32_t want_linktype)
{
    uint16_t port = 0;
    int listener = listen_loopback(&port);
    CU_ASSERT_FATAL(listener >= 0);
    char filter[64];
    snprintf(filter, sizeof(filter), "tcp port %u", (unsigned)port);
    struct td_live_options o = {.iface = iface, .filter = filter, .timeout_ms = 300};
    struct td_live *l = NULL;
    struct td_error e = {0};
    enum td_err rc = td_live_open(&o, &l, &e);
    if (rc != TD_OK) {
        printf("\n  td_live_open(%s): %s\n", iface, e.msg);
        close(listener);
    }
    CU_ASSERT_EQUAL_FATAL(rc, TD_OK);
    CU_ASSERT_EQUAL(td_live_linktype(l), want_linktype);

    int64_t t0 = now_ns(CLOCK_REALTIME);
    CU_ASSERT(talk(listener, port));
    struct seen s = {0};
    collect(l, port, want_linktype, t0, &s);
    // lo: SYN, SYN-ACK, ACK, data, ACK, FIN/ACK from each side... at least 5 whatever the close looks like.
    CU_ASSERT(s.num_frames >= 5);
    CU_ASSERT_EQUAL(s.num_bad_numbers, 0);
    CU_ASSERT_EQUAL(s.num_bad_ts, 0);
    CU_ASSERT_EQUAL(s.num_bad_len, 0);
    CU_ASSERT_EQUAL(s.num_bad_linktype, 0);
    CU_ASSERT_EQUAL(s.num_not_our_tcp, 0); // the UDP datagram (and its ICMP answer) were filtered out
    CU_ASSERT(s.saw_syn);
    CU_ASSERT(s.saw_payload);
    struct td_live_stats st;
    CU_ASSERT(td_live_stats(l, &st));
    CU_ASSERT(st.received >= s.num_frames);
    CU_ASSERT_EQUAL(st.dropped, 0);
    td_live_free(l);
    close(listener);
}

static void test_capture_loopback(void)
{
    if (!is_root(__func__)) {
        return;
    }
    check_loopback_capture("lo", LINKTYPE_ETHERNET);
}

static void test_capture_any(void)
{
    if (!is_root(__func__)) {
        return;
    }
    check_loopback_capture("any", LINKTYPE_LINUX_SLL2);
    // Promiscuous mode means nothing on "any": it opens, and says so.
    struct td_live_options o = {.iface = "any", .filter = "tcp port 9", .promisc = true, .timeout_ms = 50};
    struct td_live *l = NULL;
    struct td_error e = {0};
    CU_ASSERT_EQUAL_FATAL(td_live_open(&o, &l, &e), TD_OK);
    CU_ASSERT_PTR_NOT_NULL(td_live_warning(l));
    CU_ASSERT_PTR_NOT_NULL(strstr(td_live_warning(l), "promiscuous"));
    td_live_free(l);
}

static int64_t cpu_ns(void)
{
    return now_ns(CLOCK_PROCESS_CPUTIME_ID);
}

static void test_idle_does_not_spin(void)
{
    if (!is_root(__func__)) {
        return;
    }
    uint16_t port = 0;
    int guard = reserve_port(&port);
    CU_ASSERT_FATAL(guard >= 0);
    char filter[64];
    snprintf(filter, sizeof(filter), "tcp port %u", (unsigned)port);
    struct td_live *l = open_lo(filter, 100);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    int64_t wall0 = now_ns(CLOCK_MONOTONIC), cpu0 = cpu_ns();
    for (int i = 0; i < 3; i++) {
        struct td_frame f;
        struct td_error e = {0};
        CU_ASSERT_EQUAL(td_live_next(l, &f, &e), TD_LIVE_IDLE);
    }
    int64_t wall = now_ns(CLOCK_MONOTONIC) - wall0, cpu = cpu_ns() - cpu0;
    CU_ASSERT(wall >= 3 * 90 * 1000000LL); // each call waited about its 100 ms
    CU_ASSERT(wall < 3 * 1000 * 1000000LL);
    CU_ASSERT(cpu < wall / 4);             // ... asleep in poll, not spinning
    td_live_free(l);
    close(guard);
}

struct stopper {
    struct td_live *l;
    unsigned delay_ms;
};

static void *stop_later(void *arg)
{
    const struct stopper *s = arg;
    struct timespec d = {.tv_sec = 0, .tv_nsec = (long)s->delay_ms * 1000000L};
    nanosleep(&d, NULL);
    td_live_stop(s->l);
    return NULL;
}

static void test_stop_from_thread(void)
{
    if (!is_root(__func__)) {
        return;
    }
    uint16_t port = 0;
    int guard = reserve_port(&port);
    CU_ASSERT_FATAL(guard >= 0);
    char filter[64];
    snprintf(filter, sizeof(filter), "tcp port %u", (unsigned)port);
    struct td_live *l = open_lo(filter, 5000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    struct stopper s = {.l = l, .delay_ms = 200};
    pthread_t t;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, stop_later, &s), 0);
    int64_t t0 = now_ns(CLOCK_MONOTONIC);
    struct td_frame f;
    struct td_error e = {0};
    CU_ASSERT_EQUAL(td_live_next(l, &f, &e), TD_LIVE_STOPPED);
    int64_t waited = now_ns(CLOCK_MONOTONIC) - t0;
    CU_ASSERT(waited >= 150 * 1000000LL);  // it did wait for the stop...
    CU_ASSERT(waited < 2000 * 1000000LL);  // ... and the stop woke it long before the 5 s timeout
    pthread_join(t, NULL);
    CU_ASSERT_EQUAL(td_live_next(l, &f, &e), TD_LIVE_STOPPED); // sticky
    struct td_live_stats st;
    CU_ASSERT(td_live_stats(l, &st)); // still open after the stop
    td_live_free(l);
    close(guard);
}

static struct td_live *volatile alarm_target;

static void on_alarm(int sig)
{
    (void)sig;
    td_live_stop(alarm_target);
}

static void test_stop_from_signal(void)
{
    if (!is_root(__func__)) {
        return;
    }
    uint16_t port = 0;
    int guard = reserve_port(&port);
    CU_ASSERT_FATAL(guard >= 0);
    char filter[64];
    snprintf(filter, sizeof(filter), "tcp port %u", (unsigned)port);
    struct td_live *l = open_lo(filter, 5000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    alarm_target = l;
    // SA_RESTART on purpose: stopping must not depend on poll(2) failing with EINTR.
    struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART}, old;
    sigemptyset(&sa.sa_mask);
    CU_ASSERT_EQUAL_FATAL(sigaction(SIGALRM, &sa, &old), 0);
    struct itimerval it = {.it_value = {.tv_sec = 0, .tv_usec = 200000}};
    CU_ASSERT_EQUAL(setitimer(ITIMER_REAL, &it, NULL), 0);
    int64_t t0 = now_ns(CLOCK_MONOTONIC);
    struct td_frame f;
    struct td_error e = {0};
    CU_ASSERT_EQUAL(td_live_next(l, &f, &e), TD_LIVE_STOPPED);
    CU_ASSERT(now_ns(CLOCK_MONOTONIC) - t0 < 2000 * 1000000LL);
    sigaction(SIGALRM, &old, NULL);
    td_live_free(l);
    close(guard);
}

/* Child: open a capture as root, drop to nobody, check every id and that root is gone for good, and that
 * a new capture is now refused with the permission advice. Exit 0 when all holds. */
static int drop_to_nobody(void)
{
    const struct passwd *pw = getpwnam("nobody");
    if (pw == NULL) {
        return 30;
    }
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;
    struct td_live *l = open_lo("tcp port 9", 50);
    if (l == NULL) {
        return 31;
    }
    struct td_error e = {0};
    if (td_live_drop_privileges("nobody", &e) != TD_OK) {
        printf("\n  drop: %s\n", e.msg);
        return 32;
    }
    if (getuid() != uid || geteuid() != uid || getgid() != gid || getegid() != gid) {
        return 33;
    }
    if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0) {
        return 34;
    }
    gid_t groups[256];
    int n = getgroups(256, groups);
    for (int i = 0; i < n; i++) {
        if (groups[i] == 0) {
            return 35; // root's supplementary groups were kept
        }
    }
    // The capture opened before the drop still works.
    struct td_frame f;
    if (td_live_next(l, &f, &e) != TD_LIVE_IDLE) {
        return 36;
    }
    td_live_free(l);
    struct td_live_options o = {.iface = "lo"};
    if (td_live_open(&o, &l, &e) != TD_ERR_IO || strstr(e.msg, "CAP_NET_RAW,CAP_NET_ADMIN") == NULL) {
        return 37;
    }
    // Already nobody: asking again is fine.
    if (td_live_drop_privileges("nobody", &e) != TD_OK) {
        return 38;
    }
    return 0;
}

static void test_drop_to_nobody(void)
{
    if (!is_root(__func__) || nobody() == NULL) {
        return;
    }
    CU_ASSERT_EQUAL(in_child(drop_to_nobody), 0);
    CU_ASSERT_EQUAL(geteuid(), 0); // the parent kept root
}

static CU_TestInfo tests[] = {
    {"open: no such interface", test_open_no_such_interface},
    {"open: options out of range", test_open_bad_options},
    {"filter check without privilege", test_filter_check},
    {"drop privileges: unknown user", test_drop_unknown_user},
    {"drop privileges: not root", test_drop_not_root},
    {"open: invalid filter (root)", test_open_bad_filter},
    {"capture own loopback traffic (root)", test_capture_loopback},
    {"capture on any (root)", test_capture_any},
    {"idle poll does not spin (root)", test_idle_does_not_spin},
    {"stop from another thread (root)", test_stop_from_thread},
    {"stop from a signal handler (root)", test_stop_from_signal},
    {"drop privileges to nobody (root)", test_drop_to_nobody},
    CU_TEST_INFO_NULL,
};

TD_TEST_MAIN("live", tests)
