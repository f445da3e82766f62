/* SPDX-License-Identifier: MIT */
/* live.c: live capture through libpcap (create, set options, activate, filter) in non-blocking mode
 * with our own poll(2), and dropping root after the capture is open.
 * References: pcap_create(3PCAP), pcap_activate(3PCAP), pcap_setnonblock(3PCAP),
 * pcap_get_selectable_fd(3PCAP), pcap_breakloop(3PCAP), pcap-linktype(7), initgroups(3), setuid(2).
 *
 * Why non-blocking with our own poll: with immediate mode libpcap 1.10.3 on Linux uses TPACKET_V2, and its
 * blocking read loops over poll timeouts internally, so pcap_next_ex never returns 0 on a quiet link and
 * the caller would never get to its periodic work (seen here: poll(..., 300) = 0 repeated for minutes).
 * Waiting ourselves also lets td_live_stop wake the wait through a self-pipe, which write(2) makes
 * async-signal-safe. */
#include "live.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The stop flag is set from signal handlers and other threads: it must be a lock-free atomic. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "td_live_stop needs a lock-free atomic int");

#define IFACE_NAME_LEN 64
#define WARNING_LEN 320

struct td_live {
    pcap_t *p;
    int pcap_fd;            /* pcap_get_selectable_fd */
    int wake_rd, wake_wr;   /* self-pipe: td_live_stop writes one byte to end a wait */
    atomic_int stop;        /* set once by td_live_stop, never cleared */
    bool failed;            /* td_live_next returned TD_LIVE_ERROR */
    uint32_t linktype;      /* LINKTYPE_* */
    int64_t ts_frac_ns;     /* nanoseconds per unit of ts.tv_usec: 1 (nano precision) or 1000 */
    int timeout_ms;
    uint64_t num_frames;
    char iface[IFACE_NAME_LEN];
    char warning[WARNING_LEN]; /* empty: none */
};

/* ---- helpers ---- */

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        return 0;
    }
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* libpcap's text for the last error, or the generic text of status when it left none. */
static const char *pcap_reason(pcap_t *p, int status)
{
    const char *s = pcap_geterr(p);
    if (s == NULL || s[0] == '\0') {
        return pcap_statustostr(status);
    }
    return s;
}

static bool set_cloexec_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
        return false;
    }
    int fd_flags = fcntl(fd, F_GETFD);
    return fd_flags >= 0 && fcntl(fd, F_SETFD, fd_flags | FD_CLOEXEC) == 0;
}

static enum td_err compile_filter(pcap_t *p, const char *iface, const char *filter, struct bpf_program *prog,
                                  struct td_error *err)
{
    /* The netmask only matters for "ip broadcast"; not knowing it makes that primitive fail cleanly. */
    if (pcap_compile(p, prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        return td_error_set(err, TD_ERR_USAGE, "invalid capture filter '%s'%s%s: %s; see pcap-filter(7) for the syntax",
                            filter, iface != NULL ? " for interface " : "", iface != NULL ? iface : "",
                            pcap_geterr(p));
    }
    return TD_OK;
}

/* Turns a failed pcap_activate into words a user can act on. */
static enum td_err activate_error(const struct td_live *l, int status, struct td_error *err)
{
    const char *why = pcap_reason(l->p, status);
    switch (status) {
    case PCAP_ERROR_NO_SUCH_DEVICE:
        return td_error_set(err, TD_ERR_USAGE,
                            "cannot capture on '%s': no such interface (libpcap: %s); list interfaces with "
                            "`ip link` or capture on 'any'",
                            l->iface, why);
    case PCAP_ERROR_PERM_DENIED:
        return td_error_set(err, TD_ERR_IO,
                            "cannot capture on '%s': permission denied (libpcap: %s); run as root or give the "
                            "binary CAP_NET_RAW,CAP_NET_ADMIN (setcap cap_net_raw,cap_net_admin=eip tlsdiag)",
                            l->iface, why);
    case PCAP_ERROR_PROMISC_PERM_DENIED:
        return td_error_set(err, TD_ERR_IO,
                            "cannot capture on '%s': no permission for promiscuous mode (libpcap: %s); run as "
                            "root or give the binary CAP_NET_RAW,CAP_NET_ADMIN, or capture without promiscuous mode",
                            l->iface, why);
    case PCAP_ERROR_IFACE_NOT_UP:
        return td_error_set(err, TD_ERR_IO, "cannot capture on '%s': the interface is down (libpcap: %s); bring it up "
                            "with `ip link set %s up`",
                            l->iface, why, l->iface);
    default:
        return td_error_set(err, TD_ERR_IO, "cannot capture on '%s': %s (libpcap: %s)", l->iface,
                            pcap_statustostr(status), why);
    }
}

/* Keeps a positive pcap_activate status as a warning for td_live_warning. */
static void note_activate_warning(struct td_live *l, int status)
{
    const char *why = pcap_reason(l->p, status);
    int n;
    switch (status) {
    case PCAP_WARNING_PROMISC_NOTSUP:
        n = snprintf(l->warning, sizeof(l->warning),
                     "interface '%s' does not support promiscuous mode: only traffic to and from this host is "
                     "captured (libpcap: %s)",
                     l->iface, why);
        break;
    case PCAP_WARNING_TSTAMP_TYPE_NOTSUP:
        n = snprintf(l->warning, sizeof(l->warning),
                     "interface '%s' does not support the requested time stamp type; using its default (libpcap: %s)",
                     l->iface, why);
        break;
    default:
        n = snprintf(l->warning, sizeof(l->warning), "capture on '%s': %s", l->iface, why);
        break;
    }
    if (n < 0) {
        l->warning[0] = '\0';
    }
}

static enum td_err check_options(const struct td_live_options *o, const char *iface, struct td_error *err)
{
    if (iface[0] == '\0') {
        return td_error_set(err, TD_ERR_USAGE, "empty capture interface name; name one (see `ip link`) or use 'any'");
    }
    if (o->snaplen > INT_MAX) {
        return td_error_set(err, TD_ERR_USAGE, "snapshot length %u for '%s' is too large (at most %d)", o->snaplen,
                            iface, INT_MAX);
    }
    if (o->buffer_mb > TD_LIVE_MAX_BUFFER_MB) {
        return td_error_set(err, TD_ERR_USAGE, "capture buffer of %u MiB for '%s' is too large (at most %u MiB)",
                            o->buffer_mb, iface, TD_LIVE_MAX_BUFFER_MB);
    }
    if (o->timeout_ms > INT_MAX) {
        return td_error_set(err, TD_ERR_USAGE, "capture timeout of %u ms for '%s' is too large", o->timeout_ms,
                            iface);
    }
    return TD_OK;
}

/* Options a live handle takes before activation. They fail only on an activated handle, which this is not. */
static enum td_err set_options(struct td_live *l, const struct td_live_options *o, bool is_any, struct td_error *err)
{
    uint32_t snaplen = o->snaplen != 0 ? o->snaplen : TD_LIVE_DEFAULT_SNAPLEN;
    uint32_t buffer_mb = o->buffer_mb != 0 ? o->buffer_mb : TD_LIVE_DEFAULT_BUFFER_MB;
    /* "any" cannot be promiscuous: libpcap 1.10.3 says so in its error text but returns 0 from
     * pcap_activate, so the caller would never learn it. Say it ourselves and do not ask. */
    bool promisc = o->promisc && !is_any;
    if (o->promisc && is_any) {
        int n = snprintf(l->warning, sizeof(l->warning),
                         "promiscuous mode does not apply to the 'any' device: capturing without it");
        if (n < 0) {
            l->warning[0] = '\0';
        }
    }
    if (pcap_set_snaplen(l->p, (int)snaplen) != 0 || pcap_set_promisc(l->p, promisc ? 1 : 0) != 0 ||
        pcap_set_immediate_mode(l->p, 1) != 0 || pcap_set_buffer_size(l->p, (int)(buffer_mb * 1024u * 1024u)) != 0 ||
        pcap_set_timeout(l->p, l->timeout_ms) != 0) {
        return td_error_set(err, TD_ERR_INTERNAL, "cannot set capture options on '%s': %s", l->iface,
                            pcap_geterr(l->p));
    }
    /* Nanosecond time stamps where the platform has them (Linux does); otherwise microseconds. */
    l->ts_frac_ns = 1000;
    if (pcap_set_tstamp_precision(l->p, PCAP_TSTAMP_PRECISION_NANO) == 0) {
        l->ts_frac_ns = 1;
    }
    return TD_OK;
}

static enum td_err activate(struct td_live *l, bool is_any, struct td_error *err)
{
    int status = pcap_activate(l->p);
    if (status < 0) {
        return activate_error(l, status, err);
    }
    if (status > 0) {
        note_activate_warning(l, status);
    }
    l->ts_frac_ns = pcap_get_tstamp_precision(l->p) == PCAP_TSTAMP_PRECISION_NANO ? 1 : 1000;
    /* SLL2 adds the interface index, so frames from different interfaces of "any" stay apart.
     * Older kernels/libpcaps only offer SLL: keep what activation chose then. */
    if (is_any) {
        int set = pcap_set_datalink(l->p, DLT_LINUX_SLL2);
        (void)set;
    }
    l->linktype = td_linktype_from_dlt(pcap_datalink(l->p));
    return TD_OK;
}

static enum td_err install_filter(struct td_live *l, const char *filter, struct td_error *err)
{
    if (filter[0] == '\0') {
        return TD_OK;
    }
    struct bpf_program prog;
    enum td_err rc = compile_filter(l->p, l->iface, filter, &prog, err);
    if (rc != TD_OK) {
        return rc;
    }
    int status = pcap_setfilter(l->p, &prog);
    pcap_freecode(&prog);
    if (status != 0) {
        return td_error_set(err, TD_ERR_IO, "cannot install capture filter '%s' on '%s': %s", filter, l->iface,
                            pcap_geterr(l->p));
    }
    return TD_OK;
}

/* ---- public ---- */

enum td_err td_live_open(const struct td_live_options *o, struct td_live **out, struct td_error *err)
{
    *out = NULL;
    const char *iface = o->iface != NULL ? o->iface : TD_LIVE_DEFAULT_IFACE;
    const char *filter = o->filter != NULL ? o->filter : TD_LIVE_DEFAULT_FILTER;
    enum td_err rc = check_options(o, iface, err);
    if (rc != TD_OK) {
        return rc;
    }
    struct td_live *l = calloc(1, sizeof(*l));
    if (l == NULL) {
        return td_error_set(err, TD_ERR_RESOURCE, "out of memory opening a capture on '%s'", iface);
    }
    l->wake_rd = -1;
    l->wake_wr = -1;
    l->pcap_fd = -1;
    atomic_init(&l->stop, 0);
    l->timeout_ms = (int)(o->timeout_ms != 0 ? o->timeout_ms : TD_LIVE_DEFAULT_TIMEOUT_MS);
    if (snprintf(l->iface, sizeof(l->iface), "%s", iface) < 0) {
        l->iface[0] = '\0';
    }
    bool is_any = strcmp(iface, "any") == 0;

    int wake[2];
    if (pipe(wake) != 0) {
        rc = td_error_set(err, TD_ERR_RESOURCE, "cannot capture on '%s': pipe: %s", l->iface, strerror(errno));
        goto out;
    }
    l->wake_rd = wake[0];
    l->wake_wr = wake[1];
    if (!set_cloexec_nonblock(l->wake_rd) || !set_cloexec_nonblock(l->wake_wr)) {
        rc = td_error_set(err, TD_ERR_INTERNAL, "cannot capture on '%s': fcntl: %s", l->iface, strerror(errno));
        goto out;
    }

    char errbuf[PCAP_ERRBUF_SIZE] = "";
    l->p = pcap_create(iface, errbuf);
    if (l->p == NULL) {
        rc = td_error_set(err, TD_ERR_IO, "cannot capture on '%s': %s", l->iface, errbuf);
        goto out;
    }
    rc = set_options(l, o, is_any, err);
    if (rc != TD_OK) {
        goto out;
    }
    rc = activate(l, is_any, err);
    if (rc != TD_OK) {
        goto out;
    }
    rc = install_filter(l, filter, err);
    if (rc != TD_OK) {
        goto out;
    }
    if (pcap_setnonblock(l->p, 1, errbuf) != 0) {
        rc = td_error_set(err, TD_ERR_IO, "cannot capture on '%s': cannot make the capture non-blocking: %s",
                          l->iface, errbuf);
        goto out;
    }
    l->pcap_fd = pcap_get_selectable_fd(l->p);
    if (l->pcap_fd < 0) {
        rc = td_error_set(err, TD_ERR_IO, "cannot capture on '%s': libpcap offers no descriptor to wait on",
                          l->iface);
        goto out;
    }
    *out = l;
    l = NULL;
    rc = TD_OK;
out:
    td_live_free(l);
    return rc;
}

static void fill_frame(struct td_live *l, const struct pcap_pkthdr *h, const u_char *data, struct td_frame *out)
{
    l->num_frames++;
    out->frame = l->num_frames;
    out->ts_ns = (int64_t)h->ts.tv_sec * 1000000000 + (int64_t)h->ts.tv_usec * l->ts_frac_ns;
    out->caplen = h->caplen;
    out->wire_len = h->len;
    out->linktype = l->linktype;
    out->interface = 0;
    out->data = data;
}

static enum td_live_status fail(struct td_live *l, struct td_error *err, const char *what, const char *why)
{
    l->failed = true;
    td_error_set(err, TD_ERR_IO, "capture on '%s' failed after %llu frames: %s: %s", l->iface,
                 (unsigned long long)l->num_frames, what, why);
    return TD_LIVE_ERROR;
}

enum td_live_status td_live_next(struct td_live *l, struct td_frame *out, struct td_error *err)
{
    if (l->failed) {
        td_error_set(err, TD_ERR_INTERNAL, "capture on '%s' already failed; it cannot be read again", l->iface);
        return TD_LIVE_ERROR;
    }
    int64_t deadline = monotonic_ms() + l->timeout_ms;
    bool poll_error = false;
    for (;;) {
        if (atomic_load(&l->stop) != 0) {
            return TD_LIVE_STOPPED;
        }
        struct pcap_pkthdr *h;
        const u_char *data;
        int r = pcap_next_ex(l->p, &h, &data);
        if (r == 1) {
            fill_frame(l, h, data, out);
            return TD_LIVE_FRAME;
        }
        if (r == PCAP_ERROR_BREAK) {
            atomic_store(&l->stop, 1);
            return TD_LIVE_STOPPED;
        }
        if (r < 0) {
            return fail(l, err, "reading a packet", pcap_reason(l->p, r));
        }
        // r == 0: nothing ready. A socket error that libpcap did not turn into a read error would make
        // poll return at once forever: give up rather than spin.
        if (poll_error) {
            return fail(l, err, "waiting for packets", "the capture socket reports an error (interface gone?)");
        }
        int64_t left = deadline - monotonic_ms();
        if (left <= 0) {
            return TD_LIVE_IDLE;
        }
        struct pollfd fds[2] = {{.fd = l->pcap_fd, .events = POLLIN}, {.fd = l->wake_rd, .events = POLLIN}};
        int n = poll(fds, 2, (int)left);
        if (n < 0 && errno == EINTR) {
            // A signal: its handler may have called td_live_stop; otherwise let the caller look around.
            return atomic_load(&l->stop) != 0 ? TD_LIVE_STOPPED : TD_LIVE_IDLE;
        }
        if (n < 0) {
            return fail(l, err, "poll", strerror(errno));
        }
        if (n == 0) {
            return TD_LIVE_IDLE;
        }
        poll_error = (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL)) != 0;
    }
}

void td_live_stop(struct td_live *l)
{
    atomic_store(&l->stop, 1);
    pcap_breakloop(l->p);
    // Wakes a td_live_next waiting in poll. A full pipe already holds a wake-up, so the result is moot.
    ssize_t n = write(l->wake_wr, "x", 1);
    (void)n;
}

bool td_live_stats(struct td_live *l, struct td_live_stats *out)
{
    *out = (struct td_live_stats){0};
    struct pcap_stat ps;
    if (pcap_stats(l->p, &ps) != 0) {
        return false;
    }
    out->received = ps.ps_recv;
    out->dropped = ps.ps_drop;
    out->if_dropped = ps.ps_ifdrop;
    return true;
}

uint32_t td_live_linktype(const struct td_live *l)
{
    return l->linktype;
}

const char *td_live_warning(const struct td_live *l)
{
    return l->warning[0] != '\0' ? l->warning : NULL;
}

enum td_err td_live_filter_check(const char *filter, uint32_t linktype, struct td_error *err)
{
    if (filter == NULL) {
        filter = TD_LIVE_DEFAULT_FILTER;
    }
    if (filter[0] == '\0') {
        return TD_OK;
    }
    int dlt = td_linktype_to_dlt(linktype);
    if (dlt < 0) {
        return td_error_set(err, TD_ERR_USAGE, "cannot check capture filter '%s': link type %u is out of range",
                            filter, linktype);
    }
    pcap_t *p = pcap_open_dead(dlt, (int)TD_LIVE_DEFAULT_SNAPLEN);
    if (p == NULL) {
        return td_error_set(err, TD_ERR_RESOURCE, "out of memory checking capture filter '%s'", filter);
    }
    struct bpf_program prog;
    enum td_err rc = compile_filter(p, NULL, filter, &prog, err);
    if (rc == TD_OK) {
        pcap_freecode(&prog);
    }
    pcap_close(p);
    return rc;
}

enum td_err td_live_drop_privileges(const char *user, struct td_error *err)
{
    if (user == NULL || user[0] == '\0') {
        return td_error_set(err, TD_ERR_USAGE, "-Z needs a user name");
    }
    errno = 0;
    const struct passwd *pw = getpwnam(user);
    if (pw == NULL && errno != 0 && errno != ENOENT && errno != ESRCH) {
        return td_error_set(err, TD_ERR_IO, "cannot look up user '%s' for -Z: %s", user, strerror(errno));
    }
    if (pw == NULL) {
        return td_error_set(err, TD_ERR_USAGE, "unknown user '%s' for -Z: no such entry in the user database "
                            "(see `getent passwd`)", user);
    }
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;
    if (getuid() == uid && geteuid() == uid && getgid() == gid && getegid() == gid) {
        return TD_OK;
    }
    if (geteuid() != 0) {
        return td_error_set(err, TD_ERR_USAGE,
                            "cannot switch to user '%s' (-Z): not running as root (effective uid %lu); -Z only "
                            "applies when tlsdiag starts as root, leave it out otherwise",
                            user, (unsigned long)geteuid());
    }
    // Groups first: once the user id is dropped, changing groups is no longer allowed. As root, setgid and
    // setuid set the real, effective and saved ids alike, so the saved id cannot bring root back.
    if (initgroups(user, gid) != 0) {
        return td_error_set(err, TD_ERR_INTERNAL, "cannot set the groups of user '%s' (-Z): initgroups: %s", user,
                            strerror(errno));
    }
    if (setgid(gid) != 0) {
        return td_error_set(err, TD_ERR_INTERNAL, "cannot switch to group %lu of user '%s' (-Z): setgid: %s",
                            (unsigned long)gid, user, strerror(errno));
    }
    if (setuid(uid) != 0) {
        return td_error_set(err, TD_ERR_INTERNAL, "cannot switch to user '%s' (-Z): setuid: %s", user,
                            strerror(errno));
    }
    if (getuid() != uid || geteuid() != uid || getgid() != gid || getegid() != gid) {
        return td_error_set(err, TD_ERR_INTERNAL, "switching to user '%s' (-Z) left other ids in place", user);
    }
    if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
        return td_error_set(err, TD_ERR_INTERNAL, "after switching to user '%s' (-Z) root could be regained; "
                            "refusing to go on", user);
    }
    return TD_OK;
}

void td_live_free(struct td_live *l)
{
    if (l == NULL) {
        return;
    }
    if (l->p != NULL) {
        pcap_close(l->p);
    }
    if (l->wake_rd >= 0) {
        close(l->wake_rd);
    }
    if (l->wake_wr >= 0) {
        close(l->wake_wr);
    }
    free(l);
}
