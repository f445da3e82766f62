/* SPDX-License-Identifier: MIT */
/* reader.c: offline capture input: format detection by magic number, gzip through zlib behind a stdio
 * FILE (fopencookie), pcap and pcapng through libpcap, our own pcapng reader (pcapng.c) taking over where
 * libpcap 1.10 refuses a file, and NetMon (netmon.c).
 * Formats: pcap (pcap-savefile(5), draft-ietf-opsawg-pcap), pcapng (draft-ietf-opsawg-pcapng),
 * gzip (RFC 1952), link types (tcpdump.org/linktypes.html, pcap/dlt.h). */
#define _GNU_SOURCE /* fopencookie */
#include "cursor.h"
#include "reader_internal.h"

#include <errno.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <zlib.h>

#define MAGIC_PCAP_US 0xA1B2C3D4u /* as read big-endian; byte-swapped below */
#define MAGIC_PCAP_US_SWAPPED 0xD4C3B2A1u
#define MAGIC_PCAP_NS 0xA1B23C4Du
#define MAGIC_PCAP_NS_SWAPPED 0x4D3CB2A1u
#define MAGIC_PCAPNG 0x0A0D0D0Au
#define MAGIC_NETMON_2X 0x474D4255u /* "GMBU" */
#define MAGIC_NETMON_1X 0x52545353u /* "RTSS" */
#define MAGIC_GZIP 0x1F8Bu

#define PCAP_FILE_HEADER_LEN 24u
#define PCAP_RECORD_HEADER_LEN 16u
/* libpcap's MAXIMUM_SNAPLEN: it rejects larger pcap records as corrupt (Wireshark's limit is the same). */
#define LIBPCAP_MAX_SNAPLEN 262144u

/* stdio buffer for the capture file: large sequential reads for multi-GB files. */
#define IOBUF_LEN (1024u * 1024u)
/* zlib's input buffer for gzip captures. */
#define GZBUF_LEN (256u * 1024u)
/* Distinct link types remembered for td_reader_linktype_at; more than this in one file is not real. */
#define MAX_LINKTYPES 64u

#define ACCEPTED_FORMATS                                                                                          \
    "accepted formats are pcap, pcapng and Microsoft Network Monitor 1.x/2.x (.cap), each optionally "         \
    "gzip-compressed"

enum backend {
    BACKEND_LIBPCAP,
    BACKEND_PCAPNG, /* own reader */
    BACKEND_NETMON,
};

struct td_reader {
    char *name; /* the path as given: used in every message */
    enum td_capture_format format;
    enum backend backend;
    bool is_gzip;
    bool is_nano;
    bool is_pcap_be;
    pcap_t *pcap;     /* BACKEND_LIBPCAP; owns its FILE */
    uint32_t pcap_linktype;
    FILE *file;       /* own readers: owned here */
    struct td_pcapng *ng;
    struct td_netmon *nm;
    char *iobuf;      /* stdio buffer of whichever FILE is open; freed after it is closed */
    struct td_readbuf scratch;
    uint64_t num_frames;
    uint64_t offset; /* libpcap backend: bytes consumed */
    bool finished;   /* end or error reached: the same answer is repeated */
    enum td_reader_status final_status;
    struct td_error final_err;
    uint32_t linktypes[MAX_LINKTYPES];
    size_t num_linktypes;
    char format_name[24];
};

/* ---- reused read buffer (shared with pcapng.c and netmon.c) ---- */

enum td_err td_readbuf_fill(struct td_readbuf *b, FILE *f, size_t n, size_t *got)
{
    size_t have = 0;
    *got = 0;
    while (have < n) {
        if (have == b->cap) {
            // Grow with what has arrived (doubling), never to the claimed size up front.
            size_t cap = b->cap ? b->cap * 2 : 64u * 1024u;
            if (cap > n) {
                cap = n;
            }
            uint8_t *grown = realloc(b->p, cap);
            if (grown == NULL) {
                return TD_ERR_RESOURCE;
            }
            b->p = grown;
            b->cap = cap;
        }
        size_t chunk = (b->cap < n ? b->cap : n) - have;
        // I/O plumbing into our own buffer, not parsing: the bytes are parsed through a cursor afterwards.
        size_t r = fread(&b->p[have], 1, chunk, f);
        have += r;
        *got = have;
        if (r < chunk) {
            return ferror(f) ? TD_ERR_IO : TD_OK;
        }
    }
    return TD_OK;
}

void td_readbuf_cleanup(struct td_readbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->cap = 0;
}

/* ---- gzip behind a FILE, so libpcap and our readers need not know (nothing is written to disk) ---- */

static ssize_t gz_read(void *cookie, char *buf, size_t size)
{
    unsigned n = size > (size_t)INT_MAX ? (unsigned)INT_MAX : (unsigned)size;
    int r = gzread((gzFile)cookie, buf, n);
    if (r < 0) {
        errno = EIO;
        return -1;
    }
    return r;
}

/* Only SEEK_SET and SEEK_CUR: zlib cannot seek from the end of a stream. Backward seeks restart
 * decompression, which only our error diagnosis and NetMon's table do, once each. */
static int gz_seek(void *cookie, off64_t *pos, int whence)
{
    if (whence == SEEK_END) {
        errno = EINVAL;
        return -1;
    }
    z_off_t r = gzseek((gzFile)cookie, (z_off_t)*pos, whence);
    if (r < 0) {
        errno = EINVAL;
        return -1;
    }
    *pos = (off64_t)r;
    return 0;
}

static int gz_close(void *cookie) { return gzclose((gzFile)cookie) == Z_OK ? 0 : -1; }

/* open_stream opens path as a FILE of the (decompressed) capture bytes, positioned at 0. */
static enum td_err open_stream(struct td_reader *r, const char *path, FILE **out, struct td_error *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return td_error_set(err, TD_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    if (setvbuf(f, r->iobuf, _IOFBF, IOBUF_LEN) != 0) {
        fclose(f);
        return td_error_set(err, TD_ERR_RESOURCE, "%s: cannot set up file buffering", path);
    }
    uint8_t head[2];
    size_t n = fread(head, 1, sizeof(head), f);
    if (ferror(f)) {
        int e = errno;
        fclose(f);
        return td_error_set(err, TD_ERR_IO, "%s: cannot read: %s", path, strerror(e));
    }
    struct td_cursor c;
    uint16_t magic = 0;
    td_cursor_init(&c, head, n, 0);
    if (!td_cursor_get_u16(&c, &magic) || magic != MAGIC_GZIP) {
        rewind(f);
        r->is_gzip = false;
        *out = f;
        return TD_OK;
    }
    fclose(f);
    gzFile gz = gzopen(path, "rb");
    if (gz == NULL) {
        return td_error_set(err, TD_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    if (gzbuffer(gz, GZBUF_LEN) != 0) {
        gzclose(gz);
        return td_error_set(err, TD_ERR_RESOURCE, "%s: cannot set up gzip buffering", path);
    }
    cookie_io_functions_t io = {.read = gz_read, .write = NULL, .seek = gz_seek, .close = gz_close};
    f = fopencookie(gz, "rb", io);
    if (f == NULL) {
        gzclose(gz);
        return td_error_set(err, TD_ERR_RESOURCE, "%s: cannot open a decompression stream", path);
    }
    if (setvbuf(f, r->iobuf, _IOFBF, IOBUF_LEN) != 0) {
        fclose(f);
        return td_error_set(err, TD_ERR_RESOURCE, "%s: cannot set up file buffering", path);
    }
    r->is_gzip = true;
    *out = f;
    return TD_OK;
}

/* ---- link types ---- */

/* LINKTYPE_* values (in files) whose DLT_* value (what libpcap's API speaks) differs on this platform.
 * Frames always carry LINKTYPE_* values, so that raw IP is 101 everywhere (DLT_RAW is 12 on Linux, 14 on
 * OpenBSD). From pcap/dlt.h and libpcap's pcap-common.c map. */
static const struct {
    uint32_t linktype;
    int dlt;
} linktype_dlt[] = {
    {100, DLT_ATM_RFC1483}, {101, DLT_RAW},   {102, DLT_SLIP_BSDOS}, {103, DLT_PPP_BSDOS},
    {106, DLT_ATM_CLIP},    {246, DLT_PFSYNC}, {258, DLT_PKTAP},
};

uint32_t td_linktype_from_dlt(int dlt)
{
    for (size_t i = 0; i < sizeof(linktype_dlt) / sizeof(linktype_dlt[0]); i++) {
        if (linktype_dlt[i].dlt == dlt) {
            return linktype_dlt[i].linktype;
        }
    }
    return (uint32_t)dlt;
}

int td_linktype_to_dlt(uint32_t linktype)
{
    if (linktype == 14) {
        return DLT_RAW; /* OpenBSD's DLT_RAW, found in files: LINKTYPE_RAW */
    }
    for (size_t i = 0; i < sizeof(linktype_dlt) / sizeof(linktype_dlt[0]); i++) {
        if (linktype_dlt[i].linktype == linktype) {
            return linktype_dlt[i].dlt;
        }
    }
    return linktype > INT_MAX ? -1 : (int)linktype;
}

const char *td_linktype_name(uint32_t linktype)
{
    int dlt = td_linktype_to_dlt(linktype);
    return dlt < 0 ? NULL : pcap_datalink_val_to_name(dlt);
}

static void note_linktype(struct td_reader *r, uint32_t linktype)
{
    if (r->num_linktypes > 0 && r->linktypes[r->num_linktypes - 1] == linktype) {
        return;
    }
    for (size_t i = 0; i < r->num_linktypes; i++) {
        if (r->linktypes[i] == linktype) {
            return;
        }
    }
    if (r->num_linktypes < MAX_LINKTYPES) {
        r->linktypes[r->num_linktypes++] = linktype;
    }
}

/* ---- format detection ---- */

static bool is_text(const uint8_t *head, size_t n)
{
    struct td_cursor c;
    td_cursor_init(&c, head, n, 0);
    uint8_t b;
    while (td_cursor_get_u8(&c, &b)) {
        if ((b < 0x20 || b > 0x7e) && b != '\n' && b != '\r' && b != '\t') {
            return false;
        }
    }
    return n > 0;
}

static enum td_err not_a_capture(const struct td_reader *r, const uint8_t *head, size_t n, struct td_error *err)
{
    const char *gz = r->is_gzip ? " after gzip decompression" : "";
    if (n == 0) {
        return td_error_set(err, TD_ERR_FORMAT, "%s: the file is empty%s, so it is not a packet capture; %s",
                            r->name, gz, ACCEPTED_FORMATS);
    }
    char hex[16] = "";
    struct td_cursor c;
    td_cursor_init(&c, head, n, 0);
    uint8_t b;
    size_t used = 0;
    while (td_cursor_get_u8(&c, &b) && used + 3 < sizeof(hex)) {
        int w = snprintf(&hex[used], sizeof(hex) - used, used ? " %02x" : "%02x", b);
        if (w < 0) {
            break;
        }
        used += (size_t)w;
    }
    return td_error_set(err, TD_ERR_FORMAT,
                        "%s: not a packet capture%s: it starts with bytes %s%s, which match no supported format; %s",
                        r->name, gz, hex, is_text(head, n) ? " (text)" : "", ACCEPTED_FORMATS);
}

static enum td_err open_libpcap(struct td_reader *r, FILE *f, struct td_error *err)
{
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (p == NULL) {
        if (r->format == TD_FORMAT_PCAPNG) {
            // libpcap refuses some valid pcapng headers (e.g. an SHB option it dislikes): our reader decides.
            rewind(f);
            r->file = f;
            r->backend = BACKEND_PCAPNG;
            return td_pcapng_new(f, r->name, &r->ng, err);
        }
        fclose(f);
        return td_error_set(err, TD_ERR_FORMAT, "%s: libpcap cannot read this pcap file: %s", r->name, errbuf);
    }
    r->pcap = p;
    r->backend = BACKEND_LIBPCAP;
    r->pcap_linktype = td_linktype_from_dlt(pcap_datalink(p));
    off_t pos = ftello(pcap_file(p));
    r->offset = pos > 0 ? (uint64_t)pos : 0;
    return TD_OK;
}

static void set_format_name(struct td_reader *r)
{
    const char *base = "pcapng";
    if (r->format == TD_FORMAT_PCAP) {
        base = r->is_nano ? "pcap-ns" : "pcap";
    } else if (r->format == TD_FORMAT_NETMON) {
        base = td_netmon_version_major(r->nm) == 1 ? "netmon1" : "netmon2";
    }
    int n = snprintf(r->format_name, sizeof(r->format_name), "%s%s", base, r->is_gzip ? "+gzip" : "");
    if (n < 0) {
        r->format_name[0] = '\0';
    }
}

enum td_err td_reader_open(const char *path, struct td_reader **out, struct td_error *err)
{
    *out = NULL;
    struct td_reader *r = calloc(1, sizeof(*r));
    size_t path_len = strlen(path);
    char *name = malloc(path_len + 1);
    char *iobuf = malloc(IOBUF_LEN);
    if (r == NULL || name == NULL || iobuf == NULL) {
        free(r);
        free(name);
        free(iobuf);
        return td_error_set(err, TD_ERR_RESOURCE, "%s: out of memory", path);
    }
    memcpy(name, path, path_len + 1);
    r->name = name;
    r->iobuf = iobuf;

    FILE *f = NULL;
    enum td_err e = open_stream(r, path, &f, err);
    if (e != TD_OK) {
        td_reader_free(r);
        return e;
    }
    uint8_t head[4];
    size_t n = fread(head, 1, sizeof(head), f);
    if (ferror(f)) {
        int saved = errno;
        fclose(f);
        e = td_error_set(err, TD_ERR_IO, "%s: cannot read%s: %s", r->name, r->is_gzip ? " (gzip data is corrupt)" : "",
                         strerror(saved));
        td_reader_free(r);
        return e;
    }
    struct td_cursor c;
    uint32_t magic = 0;
    td_cursor_init(&c, head, n, 0);
    if (!td_cursor_get_u32(&c, &magic)) {
        magic = 0;
    }
    if (fseeko(f, 0, SEEK_SET) != 0) {
        int saved = errno;
        fclose(f);
        e = td_error_set(err, TD_ERR_IO, "%s: cannot rewind: %s", r->name, strerror(saved));
        td_reader_free(r);
        return e;
    }
    switch (magic) {
    case MAGIC_PCAP_US:
    case MAGIC_PCAP_US_SWAPPED:
    case MAGIC_PCAP_NS:
    case MAGIC_PCAP_NS_SWAPPED:
        r->format = TD_FORMAT_PCAP;
        r->is_nano = magic == MAGIC_PCAP_NS || magic == MAGIC_PCAP_NS_SWAPPED;
        r->is_pcap_be = magic == MAGIC_PCAP_US || magic == MAGIC_PCAP_NS;
        e = open_libpcap(r, f, err);
        break;
    case MAGIC_PCAPNG:
        r->format = TD_FORMAT_PCAPNG;
        e = open_libpcap(r, f, err);
        break;
    case MAGIC_NETMON_2X:
    case MAGIC_NETMON_1X:
        r->format = TD_FORMAT_NETMON;
        r->backend = BACKEND_NETMON;
        r->file = f;
        e = td_netmon_new(f, r->name, &r->nm, err);
        break;
    default:
        fclose(f);
        e = not_a_capture(r, head, n, err);
        break;
    }
    if (e != TD_OK) {
        td_reader_free(r);
        return e;
    }
    set_format_name(r);
    *out = r;
    return TD_OK;
}

/* ---- reading ---- */

/* switch_to_own_pcapng: libpcap stopped inside a pcapng file (a second link type, a cut block, ...).
 * Reopen it with our reader and skip the frames libpcap delivered, so numbering continues unchanged.
 * If the file really is broken, our reader now reports where and why. */
static enum td_reader_status switch_to_own_pcapng(struct td_reader *r, struct td_error *err)
{
    pcap_close(r->pcap); // closes its FILE
    r->pcap = NULL;
    FILE *f = NULL;
    if (open_stream(r, r->name, &f, err) != TD_OK) {
        return TD_READ_ERROR;
    }
    r->file = f;
    r->backend = BACKEND_PCAPNG;
    if (td_pcapng_new(f, r->name, &r->ng, err) != TD_OK) {
        return TD_READ_ERROR;
    }
    struct td_frame skipped;
    for (uint64_t i = 0; i < r->num_frames; i++) {
        enum td_reader_status st = td_pcapng_next(r->ng, &skipped, err);
        if (st == TD_READ_ERROR) {
            return st;
        }
        if (st == TD_READ_END) {
            td_error_set(err, TD_ERR_INTERNAL,
                         "%s: libpcap read %llu frames but our pcapng reader finds only %llu; please report this file",
                         r->name, (unsigned long long)r->num_frames, (unsigned long long)i);
            return TD_READ_ERROR;
        }
    }
    return TD_READ_FRAME;
}

/* pcap_failed explains libpcap's error on a pcap file by looking at the record it stopped at:
 * Record header: ts_sec u32, ts_frac u32, incl_len u32, orig_len u32 (file byte order). */
static enum td_reader_status pcap_failed(struct td_reader *r, struct td_error *err)
{
    char why[PCAP_ERRBUF_SIZE];
    snprintf(why, sizeof(why), "%s", pcap_geterr(r->pcap));
    FILE *f = pcap_file(r->pcap);
    uint64_t at = r->offset;
    unsigned long long frames = (unsigned long long)r->num_frames;
    uint8_t hdr[PCAP_RECORD_HEADER_LEN];
    size_t got = 0;
    if (fseeko(f, (off_t)at, SEEK_SET) == 0) {
        got = fread(hdr, 1, sizeof(hdr), f);
    }
    struct td_cursor c;
    uint32_t ts_sec, ts_frac, caplen, wire_len;
    td_cursor_init(&c, hdr, got, at);
    bool ok = r->is_pcap_be ? td_cursor_get_u32(&c, &ts_sec) && td_cursor_get_u32(&c, &ts_frac) &&
                                  td_cursor_get_u32(&c, &caplen) && td_cursor_get_u32(&c, &wire_len)
                            : td_cursor_get_u32_le(&c, &ts_sec) && td_cursor_get_u32_le(&c, &ts_frac) &&
                                  td_cursor_get_u32_le(&c, &caplen) && td_cursor_get_u32_le(&c, &wire_len);
    if (!ok) {
        if (ferror(f)) {
            td_error_set(err, TD_ERR_IO, "%s: read error at byte %llu after frame %llu: %s", r->name,
                         (unsigned long long)at, frames, why);
            return TD_READ_ERROR;
        }
        td_error_set(err, TD_ERR_TRUNCATED,
                     "%s: truncated at byte %llu after frame %llu: the last record header needs %u bytes but %zu "
                     "remain; the %llu frames before it were analysed",
                     r->name, (unsigned long long)(at + got), frames, PCAP_RECORD_HEADER_LEN, got, frames);
        return TD_READ_ERROR;
    }
    if (caplen > LIBPCAP_MAX_SNAPLEN) {
        td_error_set(err, TD_ERR_FORMAT,
                     "%s: byte %llu (after frame %llu): the record header claims %u captured bytes, more than the "
                     "%u maximum (libpcap: %s); the file is corrupt from here, %llu frames were analysed",
                     r->name, (unsigned long long)at, frames, caplen, LIBPCAP_MAX_SNAPLEN, why, frames);
        return TD_READ_ERROR;
    }
    size_t body = 0;
    enum td_err e = td_readbuf_fill(&r->scratch, f, caplen, &body);
    if (e == TD_OK && body < caplen) {
        uint64_t end = at + PCAP_RECORD_HEADER_LEN + body;
        td_error_set(err, TD_ERR_TRUNCATED,
                     "%s: truncated at byte %llu after frame %llu: the last record (at byte %llu) claims %u bytes "
                     "but %zu remain; the %llu frames before it were analysed",
                     r->name, (unsigned long long)end, frames, (unsigned long long)at, caplen, body, frames);
        return TD_READ_ERROR;
    }
    td_error_set(err, TD_ERR_FORMAT,
                 "%s: byte %llu (after frame %llu): libpcap refused the record: %s; the file is corrupt from here, "
                 "%llu frames were analysed",
                 r->name, (unsigned long long)at, frames, why, frames);
    return TD_READ_ERROR;
}

static enum td_reader_status next_libpcap(struct td_reader *r, struct td_frame *out, struct td_error *err)
{
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc = pcap_next_ex(r->pcap, &h, &data);
    if (rc == 1) {
        // Opened with nanosecond precision: tv_usec holds nanoseconds. pcap's ts_sec is unsigned 32-bit
        // (Wireshark reads it so) but libpcap sign-extends it into time_t: undo that for pcap.
        int64_t secs = r->format == TD_FORMAT_PCAP ? (int64_t)(uint32_t)h->ts.tv_sec : (int64_t)h->ts.tv_sec;
        out->ts_ns = secs * 1000000000 + (int64_t)h->ts.tv_usec;
        out->caplen = h->caplen;
        out->wire_len = h->len;
        out->linktype = r->pcap_linktype;
        out->interface = 0; // libpcap 1.10 does not expose the pcapng interface id
        out->data = data;
        off_t pos = ftello(pcap_file(r->pcap));
        if (pos > 0) {
            r->offset = (uint64_t)pos;
        }
        return TD_READ_FRAME;
    }
    if (rc == PCAP_ERROR_BREAK) {
        return TD_READ_END;
    }
    if (r->format == TD_FORMAT_PCAPNG) {
        enum td_reader_status st = switch_to_own_pcapng(r, err);
        return st == TD_READ_FRAME ? td_pcapng_next(r->ng, out, err) : st;
    }
    return pcap_failed(r, err);
}

enum td_reader_status td_reader_next(struct td_reader *r, struct td_frame *out, struct td_error *err)
{
    if (r->finished) {
        if (err != NULL && r->final_status == TD_READ_ERROR) {
            *err = r->final_err;
        }
        return r->final_status;
    }
    struct td_error local = {.code = TD_OK, .msg = ""};
    enum td_reader_status st;
    switch (r->backend) {
    case BACKEND_LIBPCAP:
        st = next_libpcap(r, out, &local);
        break;
    case BACKEND_PCAPNG:
        st = td_pcapng_next(r->ng, out, &local);
        break;
    case BACKEND_NETMON:
    default:
        st = td_netmon_next(r->nm, out, &local);
        break;
    }
    if (st == TD_READ_FRAME) {
        out->frame = ++r->num_frames;
        note_linktype(r, out->linktype);
        return st;
    }
    r->finished = true;
    r->final_status = st;
    r->final_err = local;
    if (err != NULL && st == TD_READ_ERROR) {
        *err = local;
    }
    return st;
}

enum td_capture_format td_reader_format(const struct td_reader *r) { return r->format; }

const char *td_reader_format_name(const struct td_reader *r) { return r->format_name; }

size_t td_reader_num_linktypes(const struct td_reader *r) { return r->num_linktypes; }

uint32_t td_reader_linktype_at(const struct td_reader *r, size_t i)
{
    return i < r->num_linktypes ? r->linktypes[i] : 0;
}

uint64_t td_reader_offset(const struct td_reader *r)
{
    switch (r->backend) {
    case BACKEND_PCAPNG:
        return r->ng != NULL ? td_pcapng_offset(r->ng) : 0;
    case BACKEND_NETMON:
        return r->nm != NULL ? td_netmon_offset(r->nm) : 0;
    case BACKEND_LIBPCAP:
    default:
        return r->offset;
    }
}

void td_reader_free(struct td_reader *r)
{
    if (r == NULL) {
        return;
    }
    if (r->pcap != NULL) {
        pcap_close(r->pcap);
    }
    if (r->file != NULL) {
        fclose(r->file);
    }
    td_pcapng_free(r->ng);
    td_netmon_free(r->nm);
    td_readbuf_cleanup(&r->scratch);
    free(r->iobuf); // only after every FILE using it is closed
    free(r->name);
    free(r);
}
