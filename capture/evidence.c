/* SPDX-License-Identifier: MIT */
/* evidence.c: per-5-tuple copies of TCP frames, written to one pcap per failed connection through
 * libpcap's savefile writer. Specifications: pcap-savefile(5) (nanosecond-precision pcap),
 * pcap-linktype(7) (LINKTYPE_* in files versus DLT_* in libpcap's API).
 *
 * An entry holds the frames of one 5-tuple in arrival order, which is frame order. A connection is a
 * range of frame numbers on its tuple (the flow table's first_frame..last_frame), so a close takes the
 * entry's frames in its range and leaves later ones to the connection that reuses the tuple. Entries live
 * in a chained hash table (seeded, symmetric key) and on a list ordered by last touch, which gives both
 * eviction (the least recently touched entry) and the idle scan (stop at the first entry still alive). */
#include "evidence.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cursor.h"

/* The snapshot length written in the file header (Wireshark's default, and libpcap's maximum for most
 * link types). Raised to the largest frame when a frame is longer, so that readers do not cut it. */
#define EVIDENCE_SNAPLEN 262144u
/* Initial hash buckets; the table doubles while entries outnumber buckets. */
#define MIN_BUCKETS 256u
/* Characters of the input's name kept in a file name: with two IPv6 addresses the name stays far
 * below NAME_MAX (255). */
#define MAX_STEM_LEN 64u
/* Temporary names tried in DIR before giving up (a stale one is left only by a crash). */
#define MAX_TMP_TRIES 16u

/* One stored frame: header and captured bytes in one allocation. */
struct packet {
    struct packet *next;
    uint64_t frame;
    int64_t ts_ns;
    uint32_t caplen;
    uint32_t wire_len;
    uint32_t linktype;
    uint8_t data[];
};

struct endpoint {
    struct td_addr addr;
    uint16_t port;
};

/* The 5-tuple with its endpoints in a fixed order (lo < hi), so both directions give the same key; a TCP
 * connection and a UDP (DTLS) flow between the same ports are different keys. */
struct key {
    struct endpoint lo, hi;
    uint8_t transport; /* TD_TRANSPORT_TCP or TD_TRANSPORT_UDP */
};

enum fill {
    FILL_OPEN = 0,    /* storing */
    FILL_FLOW_CAP,    /* refused a frame at a per-flow cap: refuses the rest until a close */
    FILL_TOTAL_CAP,   /* refused a frame at max_total_bytes (or no memory) */
};

struct entry {
    struct entry *hnext;         /* bucket chain */
    struct entry *older, *newer; /* touch order */
    uint64_t hash;
    struct key key;
    struct packet *head, *tail;
    uint32_t num_packets;
    uint32_t data_len; /* captured bytes stored, <= max_bytes_per_flow */
    int64_t last_ts_ns;
    enum fill fill;
};

struct td_evidence {
    char *dir;
    struct td_evidence_options o; /* defaults applied; o.dir points to dir */
    uint64_t seed;
    struct entry **buckets;
    size_t num_buckets;
    size_t num_entries;
    struct entry *oldest, *newest;
    struct td_evidence_stats stats;
};

/* ---- keys and the hash table ---- */

static int endpoint_cmp(const struct endpoint *a, const struct endpoint *b)
{
    if (a->addr.family != b->addr.family) {
        return a->addr.family < b->addr.family ? -1 : 1;
    }
    int c = memcmp(a->addr.bytes, b->addr.bytes, sizeof(a->addr.bytes));
    if (c != 0) {
        return c;
    }
    if (a->port != b->port) {
        return a->port < b->port ? -1 : 1;
    }
    return 0;
}

static struct key make_key(const struct td_addr *a, uint16_t a_port, const struct td_addr *b, uint16_t b_port,
                           uint8_t transport)
{
    struct endpoint x = {*a, a_port};
    struct endpoint y = {*b, b_port};
    struct key k = {.transport = transport};
    bool x_first = endpoint_cmp(&x, &y) <= 0;
    k.lo = x_first ? x : y;
    k.hi = x_first ? y : x;
    return k;
}

static bool key_equal(const struct key *a, const struct key *b)
{
    return a->transport == b->transport && endpoint_cmp(&a->lo, &b->lo) == 0 && endpoint_cmp(&a->hi, &b->hi) == 0;
}

/* mix64 is the splitmix64 finaliser: every input bit affects every output bit. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static uint64_t hash_endpoint(uint64_t h, const struct endpoint *e)
{
    uint64_t w0 = 0;
    uint64_t w1 = 0;
    for (size_t i = 0; i < 8; i++) {
        w0 = w0 << 8 | e->addr.bytes[i];
        w1 = w1 << 8 | e->addr.bytes[i + 8];
    }
    h = mix64(h ^ w0);
    h = mix64(h ^ w1);
    return mix64(h ^ ((uint64_t)e->addr.family << 16 | e->port));
}

static uint64_t key_hash(const struct td_evidence *ev, const struct key *k)
{
    return hash_endpoint(hash_endpoint(ev->seed ^ k->transport, &k->lo), &k->hi);
}

static size_t bucket_of(const struct td_evidence *ev, uint64_t hash)
{
    return (size_t)(hash & (ev->num_buckets - 1));
}

static struct entry *entry_find(const struct td_evidence *ev, uint64_t hash, const struct key *k)
{
    for (struct entry *e = ev->buckets[bucket_of(ev, hash)]; e != NULL; e = e->hnext) {
        if (e->hash == hash && key_equal(&e->key, k)) {
            return e;
        }
    }
    return NULL;
}

/* grow doubles the buckets; on allocation failure the chains just get longer. */
static void grow(struct td_evidence *ev)
{
    size_t n = ev->num_buckets * 2;
    struct entry **b = calloc(n, sizeof(*b));
    if (b == NULL) {
        return;
    }
    for (size_t i = 0; i < ev->num_buckets; i++) {
        struct entry *e = ev->buckets[i];
        while (e != NULL) {
            struct entry *next = e->hnext;
            size_t j = (size_t)(e->hash & (n - 1));
            e->hnext = b[j];
            b[j] = e;
            e = next;
        }
    }
    free(ev->buckets);
    ev->buckets = b;
    ev->num_buckets = n;
}

static void lru_unlink(struct td_evidence *ev, struct entry *e)
{
    if (e->older != NULL) {
        e->older->newer = e->newer;
    } else {
        ev->oldest = e->newer;
    }
    if (e->newer != NULL) {
        e->newer->older = e->older;
    } else {
        ev->newest = e->older;
    }
    e->older = NULL;
    e->newer = NULL;
}

static void lru_append(struct td_evidence *ev, struct entry *e)
{
    e->older = ev->newest;
    e->newer = NULL;
    if (ev->newest != NULL) {
        ev->newest->newer = e;
    } else {
        ev->oldest = e;
    }
    ev->newest = e;
}

/* free_packets frees a list and returns how many frames it held. */
static uint64_t free_packets(struct td_evidence *ev, struct packet *p)
{
    uint64_t n = 0;
    while (p != NULL) {
        struct packet *next = p->next;
        ev->stats.bytes_held -= p->caplen;
        free(p);
        p = next;
        n++;
    }
    return n;
}

/* entry_remove unhashes e and frees it; its frames must have been taken or freed. */
static void entry_remove(struct td_evidence *ev, struct entry *e)
{
    struct entry **pp = &ev->buckets[bucket_of(ev, e->hash)];
    while (*pp != e) {
        pp = &(*pp)->hnext;
    }
    *pp = e->hnext;
    lru_unlink(ev, e);
    ev->num_entries--;
    free(e);
}

/* entry_drop frees e and its frames, which no close claimed. */
static void entry_drop(struct td_evidence *ev, struct entry *e)
{
    ev->stats.packets_unclaimed += free_packets(ev, e->head);
    e->head = NULL;
    entry_remove(ev, e);
}

static struct entry *entry_new(struct td_evidence *ev, uint64_t hash, const struct key *k)
{
    if (ev->num_entries >= ev->o.max_entries && ev->oldest != NULL) {
        ev->stats.entries_evicted++;
        entry_drop(ev, ev->oldest);
    }
    struct entry *e = calloc(1, sizeof(*e));
    if (e == NULL) {
        return NULL;
    }
    e->hash = hash;
    e->key = *k;
    if (ev->num_entries >= ev->num_buckets) {
        grow(ev);
    }
    size_t b = bucket_of(ev, hash);
    e->hnext = ev->buckets[b];
    ev->buckets[b] = e;
    ev->num_entries++;
    lru_append(ev, e);
    return e;
}

/* ---- public: lifecycle ---- */

static struct td_evidence_options with_defaults(const struct td_evidence_options *o)
{
    struct td_evidence_options d = *o;
    if (d.max_packets_per_flow == 0) {
        d.max_packets_per_flow = TD_EVIDENCE_DEFAULT_MAX_PACKETS_PER_FLOW;
    }
    if (d.max_bytes_per_flow == 0) {
        d.max_bytes_per_flow = TD_EVIDENCE_DEFAULT_MAX_BYTES_PER_FLOW;
    }
    if (d.max_total_bytes == 0) {
        d.max_total_bytes = TD_EVIDENCE_DEFAULT_MAX_TOTAL_BYTES;
    }
    if (d.idle_ns == 0) {
        d.idle_ns = TD_EVIDENCE_DEFAULT_IDLE_NS;
    }
    if (d.max_entries == 0) {
        d.max_entries = TD_EVIDENCE_DEFAULT_MAX_ENTRIES;
    }
    return d;
}

/* check_dir: the directory must exist, be a directory and be writable now, so that a typo fails at
 * startup rather than at the first failed connection. */
static enum td_err check_dir(const char *dir, struct td_error *err)
{
    if (dir == NULL || dir[0] == '\0') {
        return td_error_set(err, TD_ERR_USAGE, "--evidence needs a directory to write the evidence pcaps into");
    }
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno == ENOENT) {
            return td_error_set(err, TD_ERR_USAGE, "evidence directory %s does not exist; create it first", dir);
        }
        return td_error_set(err, TD_ERR_USAGE, "evidence directory %s: %s", dir, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        return td_error_set(err, TD_ERR_USAGE, "evidence directory %s is not a directory", dir);
    }
    if (access(dir, W_OK | X_OK) != 0) {
        return td_error_set(err, TD_ERR_USAGE,
                            "evidence directory %s is not writable (%s); choose a directory you can write to", dir,
                            strerror(errno));
    }
    return TD_OK;
}

TD_MUST_USE enum td_err td_evidence_new(const struct td_evidence_options *o, struct td_evidence **out,
                                        struct td_error *err)
{
    *out = NULL;
    enum td_err rc = check_dir(o->dir, err);
    if (rc != TD_OK) {
        return rc;
    }
    struct td_evidence *ev = calloc(1, sizeof(*ev));
    if (ev == NULL) {
        return td_error_set(err, TD_ERR_RESOURCE, "evidence: out of memory");
    }
    size_t dir_len = strlen(o->dir);
    /* "out/" and "out" name the same directory; keep "/" itself. */
    while (dir_len > 1 && o->dir[dir_len - 1] == '/') {
        dir_len--;
    }
    ev->dir = malloc(dir_len + 1);
    ev->buckets = calloc(MIN_BUCKETS, sizeof(*ev->buckets));
    if (ev->dir == NULL || ev->buckets == NULL) {
        td_evidence_free(ev);
        return td_error_set(err, TD_ERR_RESOURCE, "evidence: out of memory");
    }
    memcpy(ev->dir, o->dir, dir_len);
    ev->dir[dir_len] = '\0';
    ev->num_buckets = MIN_BUCKETS;
    ev->o = with_defaults(o);
    ev->o.dir = ev->dir;
    /* Seeded per collector so colliding tuples cannot be precomputed; no output depends on hash order. */
    ev->seed = mix64((uint64_t)(uintptr_t)ev);
    *out = ev;
    return TD_OK;
}

void td_evidence_clear(struct td_evidence *ev)
{
    while (ev->oldest != NULL) {
        entry_drop(ev, ev->oldest);
    }
}

void td_evidence_free(struct td_evidence *ev)
{
    if (ev == NULL) {
        return;
    }
    if (ev->buckets != NULL) {
        td_evidence_clear(ev);
    }
    free(ev->buckets);
    free(ev->dir);
    free(ev);
}

const struct td_evidence_stats *td_evidence_stats(const struct td_evidence *ev) { return &ev->stats; }

/* ---- public: frames in ---- */

void td_evidence_packet(struct td_evidence *ev, const struct td_frame *frame, const struct td_segment *seg,
                        uint8_t transport)
{
    struct key k = make_key(&seg->src, seg->sport, &seg->dst, seg->dport, transport);
    uint64_t hash = key_hash(ev, &k);
    struct entry *e = entry_find(ev, hash, &k);
    if (e == NULL) {
        e = entry_new(ev, hash, &k);
        if (e == NULL) {
            ev->stats.packets_over_total_cap++; // no memory: as good as over the total cap
            return;
        }
    }
    e->last_ts_ns = frame->ts_ns;
    lru_unlink(ev, e);
    lru_append(ev, e);

    if (e->fill == FILL_OPEN && (e->num_packets >= ev->o.max_packets_per_flow ||
                                 frame->caplen > ev->o.max_bytes_per_flow - e->data_len)) {
        e->fill = FILL_FLOW_CAP;
    }
    if (e->fill == FILL_OPEN && frame->caplen > ev->o.max_total_bytes - ev->stats.bytes_held) {
        e->fill = FILL_TOTAL_CAP;
    }
    struct packet *p = NULL;
    if (e->fill == FILL_OPEN) {
        p = malloc(sizeof(*p) + frame->caplen);
        if (p == NULL) {
            e->fill = FILL_TOTAL_CAP;
        }
    }
    if (e->fill != FILL_OPEN) {
        if (e->fill == FILL_FLOW_CAP) {
            ev->stats.packets_over_flow_cap++;
        } else {
            ev->stats.packets_over_total_cap++;
        }
        return;
    }
    struct td_cursor c;
    td_cursor_init(&c, frame->data, frame->caplen, 0);
    if (!td_cursor_copy(&c, p->data, frame->caplen)) {
        free(p); // cannot happen: the view is exactly caplen bytes
        return;
    }
    p->next = NULL;
    p->frame = frame->frame;
    p->ts_ns = frame->ts_ns;
    p->caplen = frame->caplen;
    p->wire_len = frame->wire_len;
    p->linktype = frame->linktype;
    if (e->tail != NULL) {
        e->tail->next = p;
    } else {
        e->head = p;
    }
    e->tail = p;
    e->num_packets++;
    e->data_len += frame->caplen;
    ev->stats.bytes_held += frame->caplen;
    if (ev->stats.bytes_held > ev->stats.bytes_held_max) {
        ev->stats.bytes_held_max = ev->stats.bytes_held;
    }
}

static bool is_idle(const struct td_evidence *ev, const struct entry *e, int64_t now_ns)
{
    if (now_ns <= e->last_ts_ns) {
        return false;
    }
    return (uint64_t)now_ns - (uint64_t)e->last_ts_ns > ev->o.idle_ns;
}

void td_evidence_expire(struct td_evidence *ev, int64_t now_ns)
{
    /* Touch order is time order for a capture read in order, so the scan stops at the first live entry;
     * each entry is expired once, so the work is bounded by the entries created. */
    while (ev->oldest != NULL && is_idle(ev, ev->oldest, now_ns)) {
        ev->stats.entries_expired++;
        entry_drop(ev, ev->oldest);
    }
}

/* ---- public: a flow ends ---- */

/* stem_end: the length of name without its extension ("a.pcap" -> 1); a leading dot is no extension. */
static size_t stem_end(const char *name, size_t len)
{
    for (size_t i = len; i > 1; i--) {
        if (name[i - 1] == '.') {
            return i - 1;
        }
    }
    return len;
}

/* make_stem: input_name's basename without ".gz" and one more extension, limited to the characters
 * that are safe in a file name on every system Wireshark runs on. */
static void make_stem(const char *input_name, char *out, size_t out_size)
{
    const char *base = input_name != NULL ? input_name : "";
    const char *slash = strrchr(base, '/');
    if (slash != NULL) {
        base = slash + 1;
    }
    size_t len = strlen(base);
    size_t end = stem_end(base, len);
    if (len - end == 3 && memcmp(&base[end], ".gz", 3) == 0) {
        end = stem_end(base, end);
    }
    size_t n = 0;
    for (size_t i = 0; i < end && n < MAX_STEM_LEN && n + 1 < out_size; i++) {
        char ch = base[i];
        bool safe = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                    ch == '.' || ch == '_' || ch == '+' || ch == '-';
        /* No leading dot: the file would be hidden, and temporary names start with one. */
        bool hidden = n == 0 && ch == '.';
        out[n] = safe && !hidden ? ch : '_';
        n++;
    }
    if (n == 0) {
        snprintf(out, out_size, "capture");
        return;
    }
    out[n] = '\0';
}

/* format_addr: an address for a file name: IPv6 ':' becomes '-' (Windows forbids ':'). */
static void format_addr(const struct td_addr *a, char *buf, size_t buf_len)
{
    td_addr_format(a, buf, buf_len);
    for (char *ch = buf; *ch != '\0'; ch++) {
        if (*ch == ':') {
            *ch = '-';
        }
    }
}

static void pkthdr_of(const struct packet *p, struct pcap_pkthdr *h)
{
    /* Floor division: a time before 1970 still gets a fraction in [0, 1e9). */
    int64_t sec = p->ts_ns / 1000000000;
    int64_t nsec = p->ts_ns % 1000000000;
    if (nsec < 0) {
        sec--;
        nsec += 1000000000;
    }
    memset(h, 0, sizeof(*h));
    h->ts.tv_sec = (time_t)sec;
    h->ts.tv_usec = (suseconds_t)nsec; // nanoseconds: the handle has PCAP_TSTAMP_PRECISION_NANO
    h->caplen = p->caplen;
    h->len = p->wire_len;
}

/* open_tmp creates a new temporary file next to final_path (same directory, so rename is atomic) and
 * names it in tmp. Permissions follow the umask, as tcpdump -w does. */
static enum td_err open_tmp(const char *dir, const char *name, char *tmp, size_t tmp_len, FILE **out,
                            struct td_error *err)
{
    for (unsigned i = 0; i < MAX_TMP_TRIES; i++) {
        int n = snprintf(tmp, tmp_len, "%s/.%s.tmp%u", dir, name, i);
        if (n < 0 || (size_t)n >= tmp_len) {
            return td_error_set(err, TD_ERR_IO, "evidence directory %s: path too long", dir);
        }
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno == EEXIST) {
            continue;
        }
        if (fd < 0) {
            return td_error_set(err, TD_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
        }
        *out = fdopen(fd, "wb");
        if (*out == NULL) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return td_error_set(err, TD_ERR_IO, "cannot open %s: %s", tmp, strerror(e));
        }
        return TD_OK;
    }
    return td_error_set(err, TD_ERR_IO, "cannot create a temporary file in %s: %u stale .%s.tmp* files; remove them",
                        dir, MAX_TMP_TRIES, name);
}

/* write_pcap writes the frames of list that have the first frame's link type to final_path, through a
 * temporary file renamed into place. Returns the frames written in *num_written. */
static enum td_err write_pcap(struct td_evidence *ev, const struct packet *list, const char *name,
                              const char *final_path, uint64_t *num_written, struct td_error *err)
{
    uint32_t linktype = list->linktype;
    uint32_t snaplen = EVIDENCE_SNAPLEN;
    for (const struct packet *p = list; p != NULL; p = p->next) {
        if (p->linktype == linktype && p->caplen > snaplen) {
            snaplen = p->caplen;
        }
    }
    char tmp[TD_EVIDENCE_PATH_LEN];
    enum td_err rc = TD_OK;
    FILE *fp = NULL;
    pcap_dumper_t *d = NULL;
    bool tmp_exists = false;
    pcap_t *pd = pcap_open_dead_with_tstamp_precision(td_linktype_to_dlt(linktype), (int)snaplen,
                                                      PCAP_TSTAMP_PRECISION_NANO);
    if (pd == NULL) {
        return td_error_set(err, TD_ERR_RESOURCE, "evidence: out of memory");
    }
    rc = open_tmp(ev->dir, name, tmp, sizeof(tmp), &fp, err);
    if (rc != TD_OK) {
        goto out;
    }
    tmp_exists = true;
    d = pcap_dump_fopen(pd, fp);
    if (d == NULL) {
        // e.g. a link type libpcap cannot write
        rc = td_error_set(err, TD_ERR_IO, "cannot write %s (link type %" PRIu32 "): %s", final_path, linktype,
                          pcap_geterr(pd));
        fclose(fp);
        goto out;
    }
    for (const struct packet *p = list; p != NULL; p = p->next) {
        if (p->linktype != linktype) {
            ev->stats.packets_linktype_skipped++;
            continue;
        }
        struct pcap_pkthdr h;
        pkthdr_of(p, &h);
        pcap_dump((u_char *)d, &h, p->data);
        (*num_written)++;
    }
    if (pcap_dump_flush(d) != 0 || ferror(fp)) {
        rc = td_error_set(err, TD_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
        pcap_dump_close(d);
        goto out;
    }
    pcap_dump_close(d); // closes fp
    if (rename(tmp, final_path) != 0) {
        rc = td_error_set(err, TD_ERR_IO, "cannot rename %s to %s: %s", tmp, final_path, strerror(errno));
        goto out;
    }
    tmp_exists = false;
out:
    if (tmp_exists) {
        unlink(tmp);
    }
    pcap_close(pd);
    return rc;
}

/* take_flow detaches the entry's frames first_frame..last_frame and returns them; earlier frames are
 * freed (stale), later ones stay. */
static struct packet *take_flow(struct td_evidence *ev, struct entry *e, const struct td_flow_info *info)
{
    while (e->head != NULL && e->head->frame < info->first_frame) {
        struct packet *p = e->head;
        e->head = p->next;
        e->num_packets--;
        e->data_len -= p->caplen;
        p->next = NULL;
        ev->stats.packets_unclaimed += free_packets(ev, p);
    }
    struct packet *mine = NULL;
    struct packet *mine_tail = NULL;
    while (e->head != NULL && e->head->frame <= info->last_frame) {
        struct packet *p = e->head;
        e->head = p->next;
        e->num_packets--;
        e->data_len -= p->caplen;
        p->next = NULL;
        if (mine_tail != NULL) {
            mine_tail->next = p;
        } else {
            mine = p;
        }
        mine_tail = p;
    }
    if (e->head == NULL) {
        e->tail = NULL;
    }
    /* A full entry stays full. Frames are stored in frame order and nothing is stored once full, so if
     * frames after last_frame are left the refusal came after them: the next connection lost a frame,
     * and its file must not have a hole either. An entry left empty is dropped, and the tuple's next
     * frame starts a fresh one. */
    if (e->head == NULL) {
        entry_remove(ev, e); // frees the slot; a straggler later makes a new entry
    }
    return mine;
}

TD_MUST_USE enum td_err td_evidence_close(struct td_evidence *ev, const struct td_flow_info *info, bool keep,
                                          const char *input_name, char *path_out, size_t path_len,
                                          struct td_error *err)
{
    if (path_out != NULL && path_len > 0) {
        path_out[0] = '\0';
    }
    struct key k = make_key(&info->client, info->client_port, &info->server, info->server_port, info->transport);
    struct entry *e = entry_find(ev, key_hash(ev, &k), &k);
    struct packet *mine = e != NULL ? take_flow(ev, e, info) : NULL;
    if (!keep) {
        free_packets(ev, mine);
        return TD_OK;
    }
    if (mine == NULL) {
        ev->stats.closes_without_packets++;
        return TD_OK;
    }
    char stem[MAX_STEM_LEN + 1];
    char client[64];
    char server[64];
    char name[256];
    char path[TD_EVIDENCE_PATH_LEN];
    make_stem(input_name, stem, sizeof(stem));
    format_addr(&info->client, client, sizeof(client));
    format_addr(&info->server, server, sizeof(server));
    int n = snprintf(name, sizeof(name), "%s-%" PRIu64 "-%s.%u-%s.%u.pcap", stem, info->first_frame, client,
                     (unsigned)info->client_port, server, (unsigned)info->server_port);
    int m = n < 0 || (size_t)n >= sizeof(name) ? -1 : snprintf(path, sizeof(path), "%s/%s", ev->dir, name);
    enum td_err rc = TD_OK;
    if (m < 0 || (size_t)m >= sizeof(path)) {
        rc = td_error_set(err, TD_ERR_IO, "evidence directory %s: path too long for flow %" PRIu64, ev->dir,
                          info->id);
        goto out;
    }
    if (path_out != NULL && (size_t)m >= path_len) {
        rc = td_error_set(err, TD_ERR_USAGE, "evidence: path buffer of %zu bytes is too short for %s", path_len,
                          path);
        goto out;
    }
    uint64_t written = 0;
    rc = write_pcap(ev, mine, name, path, &written, err);
    if (rc != TD_OK) {
        goto out;
    }
    ev->stats.files_written++;
    ev->stats.packets_written += written;
    if (path_out != NULL) {
        snprintf(path_out, path_len, "%s", path);
    }
out:
    free_packets(ev, mine);
    return rc;
}
