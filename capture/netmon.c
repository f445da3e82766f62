/* SPDX-License-Identifier: MIT */
/* netmon.c: reader for Microsoft Network Monitor capture files (.cap), versions 1.x ("RTSS") and 2.x ("GMBU",
 * written by NetMon 2.x and 3.x). Layout per the Network Monitor 3.x help ("Capture File Format") as
 * implemented by Wireshark's wiretap/netmon.c: a file header, frame records located through a frame table
 * (frames need not be contiguous), and from version 2.1 on a per-frame trailer carrying the media type.
 * Every byte of the file is read into a reused buffer with fread and parsed through struct td_cursor. */
#include "cursor.h"
#include "reader_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* The fixed header fields we use, after the 4-byte magic: version (2), network (2), SYSTEMTIME (16),
 * frame table offset and length (8). The full 2.x header is 128 bytes; the rest is optional tables. */
#define HEADER_MIN_LEN 32u
#define HEADER_LEN 128u

#define MAGIC_1X 0x52545353u /* "RTSS" */
#define MAGIC_2X 0x474D4255u /* "GMBU" */

/* Per-frame media types above the NDIS range (Wireshark's NETMON_NET_*). */
#define NET_PCAP_BASE 0xE000u      /* 0xE000 | LINKTYPE_*: converted from pcap */
#define NET_MA_FIRST 0xE080u       /* Microsoft Message Analyzer exported types 0xE080-0xE08A */
#define NET_MA_LAST 0xE08Au
#define NET_PAYLOAD_HEADER 0xFFFCu /* reassembly pseudo-frame: not a frame */
#define NET_NETWORK_INFO 0xFFFDu   /* adapter list: not a frame */
#define NET_DNS_CACHE 0xFFFEu      /* resolved names: not a frame */

#define LINKTYPE_NONE 0u
#define LINKTYPE_ETHERNET 1u
#define LINKTYPE_IEEE802_5 6u
#define LINKTYPE_FDDI 10u
#define LINKTYPE_RAW 101u
#define LINKTYPE_IEEE802_11 105u

/* 100 ns FILETIME units between 1601-01-01 and 1970-01-01. */
#define FILETIME_UNIX_EPOCH 116444736000000000ll
#define NS_PER_S 1000000000ll
#define NS_PER_MS 1000000ll

struct td_netmon {
    FILE *f;          /* borrowed */
    const char *name; /* borrowed */
    struct td_readbuf buf;
    struct td_readbuf table; /* raw frame table: little-endian u32 file offsets */
    unsigned ver_major;
    unsigned ver_minor;
    uint32_t header_linktype; /* 1.x/2.0: every frame's link type */
    size_t trailer_len;       /* 2.1: 2, 2.2: 6, 2.3+: 15 */
    int64_t start_ns;
    uint32_t table_off;
    uint32_t table_len;   /* claimed */
    size_t num_entries;   /* complete entries actually present */
    size_t next_entry;
    uint64_t table_end;   /* where the frame table (or the file, if cut inside it) ends */
    uint64_t pos;         /* our file position */
    uint64_t offset;      /* end of the last frame record read: bytes consumed */
    uint64_t num_frames;
};

/* NDIS media types 0-9 of the header and the 2.1+ trailer (Wireshark's netmon_encap[]). ATM (4) keeps
 * NetMon's 16-byte pseudo-header and 802.11 (6) NetMon's radio header, so they get private values. */
static uint32_t ndis_linktype(uint16_t network)
{
    switch (network) {
    case 0: // NetMon 3.4 writes 0 for VPN captures; Wireshark reads them as Ethernet
    case 1:
        return LINKTYPE_ETHERNET;
    case 2:
        return LINKTYPE_IEEE802_5;
    case 3:
        return LINKTYPE_FDDI;
    case 4:
    case 6:
        return TD_LINKTYPE_NETMON_BASE + network;
    case 7: // format 2.x uses the NDIS WAN types 7-9 for raw IP
    case 8:
    case 9:
        return LINKTYPE_RAW;
    default:
        return LINKTYPE_NONE;
    }
}

/* frame_linktype maps a 2.1+ per-frame media type. *is_frame is false for NetMon's metadata records that
 * Wireshark does not count as frames, so frame numbers stay identical to Wireshark's. */
static uint32_t frame_linktype(uint16_t network, bool *is_frame)
{
    *is_frame = network != NET_PAYLOAD_HEADER && network != NET_NETWORK_INFO && network != NET_DNS_CACHE;
    if (network == NET_MA_FIRST) {
        return LINKTYPE_IEEE802_11;
    }
    if (network > NET_MA_FIRST && network <= NET_MA_LAST) {
        return TD_LINKTYPE_NETMON_BASE + network;
    }
    if ((network & 0xF000u) == NET_PCAP_BASE) {
        return network & 0x0FFFu;
    }
    uint32_t lt = ndis_linktype(network);
    return lt != LINKTYPE_NONE ? lt : TD_LINKTYPE_NETMON_BASE + network;
}

/* days_from_civil: days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The last year whose nanoseconds since 1970 fit an int64_t. */
#define MAX_YEAR 2262u

/* SYSTEMTIME: wYear, wMonth, wDayOfWeek, wDay, wHour, wMinute, wSecond, wMilliseconds (u16 each).
 * NetMon and Wireshark's writer both store local time (Wireshark's writer uses localtime(), its reader
 * mktime()), and the file does not say which zone. We read it as UTC so that the host's zone never changes
 * results: times then match tshark's on UTC hosts, or for files written under TZ=UTC (samples/make-wrapped.sh).
 * 2.3+ files carry a per-frame UTC FILETIME that replaces this anyway. *year is set even when the time is
 * out of range (false with *year > MAX_YEAR). */
static bool parse_systemtime(struct td_cursor *c, int64_t *out_ns, uint16_t *year_out)
{
    uint16_t year, month, dow, day, hour, min, sec, ms;
    TD_TRY(td_cursor_get_u16_le(c, &year) && td_cursor_get_u16_le(c, &month) && td_cursor_get_u16_le(c, &dow) &&
           td_cursor_get_u16_le(c, &day) && td_cursor_get_u16_le(c, &hour) && td_cursor_get_u16_le(c, &min) &&
           td_cursor_get_u16_le(c, &sec) && td_cursor_get_u16_le(c, &ms));
    *year_out = year;
    if (year > MAX_YEAR) {
        return false;
    }
    int64_t days = days_from_civil(year, month, day);
    int64_t secs = days * 86400 + (int64_t)hour * 3600 + (int64_t)min * 60 + sec;
    *out_ns = secs * NS_PER_S + (int64_t)ms * NS_PER_MS;
    return true;
}

enum td_err td_netmon_new(FILE *f, const char *name, struct td_netmon **out, struct td_error *err)
{
    uint8_t hdr[HEADER_LEN];
    size_t got = fread(hdr, 1, sizeof(hdr), f);
    if (ferror(f)) {
        return td_error_set(err, TD_ERR_IO, "%s: cannot read the NetMon header: %s", name, strerror(errno));
    }
    if (got < HEADER_MIN_LEN) {
        return td_error_set(err, TD_ERR_FORMAT,
                            "%s: the Network Monitor header is cut short (%zu of at least %u bytes); the file is "
                            "not a readable capture",
                            name, got, HEADER_MIN_LEN);
    }
    /* Header: magic[4], ver_minor u8, ver_major u8, network u16, SYSTEMTIME, frametableoffset u32,
     * frametablelength u32, then optional tables. All little-endian. */
    struct td_cursor c;
    uint32_t magic, table_off, table_len;
    uint8_t minor, major;
    uint16_t network, year = 0;
    int64_t start_ns;
    td_cursor_init(&c, hdr, got, 0);
    if (!td_cursor_get_u32(&c, &magic) || !td_cursor_get_u8(&c, &minor) || !td_cursor_get_u8(&c, &major) ||
        !td_cursor_get_u16_le(&c, &network) || !parse_systemtime(&c, &start_ns, &year) ||
        !td_cursor_get_u32_le(&c, &table_off) || !td_cursor_get_u32_le(&c, &table_len)) {
        if (year > MAX_YEAR) {
            return td_error_set(err, TD_ERR_FORMAT,
                                "%s: the Network Monitor header's start time is in the year %u, past %u; the file "
                                "is corrupt (tshark refuses it too)",
                                name, year, MAX_YEAR);
        }
        return td_error_set(err, TD_ERR_FORMAT, "%s: the Network Monitor header is cut short", name);
    }
    if ((magic == MAGIC_2X && major != 2) || (magic == MAGIC_1X && major != 1) ||
        (magic != MAGIC_2X && magic != MAGIC_1X)) {
        return td_error_set(err, TD_ERR_FORMAT,
                            "%s: Network Monitor version %u.%u is not supported (1.x and 2.x are); save it from "
                            "NetMon 3.4 as .cap or convert it with editcap -F pcapng",
                            name, major, minor);
    }
    bool per_frame = major == 2 && minor >= 1;
    uint32_t header_linktype = ndis_linktype(network);
    if (!per_frame && header_linktype == LINKTYPE_NONE) {
        return td_error_set(err, TD_ERR_FORMAT, "%s: Network Monitor media type %u is unknown or unsupported", name,
                            network);
    }
    if (table_len % 4 != 0) {
        return td_error_set(err, TD_ERR_FORMAT,
                            "%s: the Network Monitor frame table length %u is not a multiple of 4; the file is "
                            "corrupt",
                            name, table_len);
    }
    struct td_netmon *n = calloc(1, sizeof(*n));
    if (n == NULL) {
        return td_error_set(err, TD_ERR_RESOURCE, "%s: out of memory", name);
    }
    n->f = f;
    n->name = name;
    n->ver_major = major;
    n->ver_minor = minor;
    n->header_linktype = header_linktype;
    n->trailer_len = !per_frame ? 0 : minor == 1 ? 2 : minor == 2 ? 6 : 15;
    n->start_ns = start_ns;
    n->table_off = table_off;
    n->table_len = table_len;
    n->pos = got;
    n->offset = got;

    // The table is read whole (it sits at the end, frames are then read in file order). Its memory grows
    // only with the bytes present: a cut file yields the complete entries before the cut.
    size_t table_got = 0;
    if (table_len > 0 && fseeko(f, (off_t)table_off, SEEK_SET) == 0) {
        enum td_err e = td_readbuf_fill(&n->table, f, table_len, &table_got);
        if (e != TD_OK) {
            td_netmon_free(n);
            return td_error_set(err, e, "%s: cannot read the Network Monitor frame table at byte %u: %s", name,
                                table_off, e == TD_ERR_IO ? strerror(errno) : "out of memory");
        }
        n->pos = (uint64_t)table_off + table_got;
    }
    n->num_entries = table_got / 4;
    n->table_end = (uint64_t)table_off + table_got;
    if (table_got < table_len) {
        // Cut file: find where it really ends for the message (not possible inside gzip: keep the estimate).
        off_t end = fseeko(f, 0, SEEK_END) == 0 ? ftello(f) : -1;
        if (end >= 0 && (uint64_t)end < n->table_end) {
            n->table_end = (uint64_t)end;
        }
        n->pos = UINT64_MAX; // unknown: the next record read seeks
    }
    *out = n;
    return TD_OK;
}

void td_netmon_free(struct td_netmon *n)
{
    if (n == NULL) {
        return;
    }
    td_readbuf_cleanup(&n->buf);
    td_readbuf_cleanup(&n->table);
    free(n);
}

uint64_t td_netmon_offset(const struct td_netmon *n) { return n->offset; }
unsigned td_netmon_version_major(const struct td_netmon *n) { return n->ver_major; }

static enum td_reader_status truncated(const struct td_netmon *n, struct td_error *err, uint64_t end,
                                       const char *fmt, ...) TD_PRINTF(4, 5);
static enum td_reader_status truncated(const struct td_netmon *n, struct td_error *err, uint64_t end,
                                       const char *fmt, ...)
{
    char what[TD_ERRMSG_LEN];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (len < 0) {
        what[0] = '\0';
    }
    td_error_set(err, TD_ERR_TRUNCATED, "%s: truncated at byte %llu after frame %llu: %s; the %llu frames before it "
                 "were analysed",
                 n->name, (unsigned long long)end, (unsigned long long)n->num_frames, what,
                 (unsigned long long)n->num_frames);
    return TD_READ_ERROR;
}

static enum td_reader_status io_failed(const struct td_netmon *n, struct td_error *err, uint64_t at)
{
    td_error_set(err, TD_ERR_IO, "%s: read error at byte %llu after frame %llu: %s", n->name, (unsigned long long)at,
                 (unsigned long long)n->num_frames, strerror(errno));
    return TD_READ_ERROR;
}

/* Frame record 1.x: ts_delta u32 (ms since start), orig_len u16, incl_len u16.
 *              2.x: ts_delta u64 (us since start), orig_len u32, incl_len u32.
 * Then incl_len bytes of frame, then (2.1+) the trailer: network u16 [, process_info_index u32
 * [, utc_timestamp u64 (FILETIME), timezone_index u8]]. */
static enum td_reader_status read_record(struct td_netmon *n, uint32_t rec_off, struct td_frame *out,
                                         bool *is_frame, struct td_error *err)
{
    if (n->pos != rec_off) {
        if (fseeko(n->f, (off_t)rec_off, SEEK_SET) != 0) {
            return truncated(n, err, n->pos, "frame table entry %zu points to byte %u, past the end of the file",
                             n->next_entry, rec_off);
        }
        n->pos = rec_off;
    }
    uint8_t hdr[16];
    size_t hdr_len = n->ver_major == 1 ? 8 : 16;
    size_t got = fread(hdr, 1, hdr_len, n->f);
    n->pos += got;
    if (got < hdr_len) {
        if (ferror(n->f)) {
            return io_failed(n, err, n->pos);
        }
        return truncated(n, err, n->pos,
                         "frame table entry %zu points to a record at byte %u whose %zu-byte header has only %zu "
                         "bytes in the file",
                         n->next_entry, rec_off, hdr_len, got);
    }
    struct td_cursor c;
    td_cursor_init(&c, hdr, hdr_len, rec_off);
    uint64_t delta_ns;
    uint32_t wire_len, caplen;
    if (n->ver_major == 1) {
        uint32_t ms;
        uint16_t orig16, incl16;
        if (!td_cursor_get_u32_le(&c, &ms) || !td_cursor_get_u16_le(&c, &orig16) ||
            !td_cursor_get_u16_le(&c, &incl16)) {
            return truncated(n, err, n->pos, "internal: record header");
        }
        delta_ns = (uint64_t)ms * (uint64_t)NS_PER_MS;
        wire_len = orig16;
        caplen = incl16;
    } else {
        uint64_t us;
        if (!td_cursor_get_u64_le(&c, &us) || !td_cursor_get_u32_le(&c, &wire_len) ||
            !td_cursor_get_u32_le(&c, &caplen)) {
            return truncated(n, err, n->pos, "internal: record header");
        }
        // Microsoft: an unsigned count of us that may really be negative; Wireshark multiplies it into
        // 100 ns units and reads the 64-bit result as signed. Unsigned wrap-around gives the same bits.
        delta_ns = us * 1000u;
    }
    if (caplen > TD_READER_MAX_PACKET_LEN) {
        td_error_set(err, TD_ERR_FORMAT,
                     "%s: byte %u (after frame %llu): the record claims %u captured bytes, more than the %u maximum; "
                     "the file is corrupt from here, %llu frames were analysed",
                     n->name, rec_off, (unsigned long long)n->num_frames, caplen, TD_READER_MAX_PACKET_LEN,
                     (unsigned long long)n->num_frames);
        return TD_READ_ERROR;
    }
    size_t want = (size_t)caplen + n->trailer_len;
    enum td_err e = td_readbuf_fill(&n->buf, n->f, want, &got);
    n->pos += got;
    if (e == TD_ERR_IO) {
        return io_failed(n, err, n->pos);
    }
    if (e != TD_OK) {
        td_error_set(err, e, "%s: out of memory reading a %u-byte frame", n->name, caplen);
        return TD_READ_ERROR;
    }
    if (got < want) {
        return truncated(n, err, n->pos, "the last record (at byte %u) claims %zu bytes but %zu remain", rec_off,
                         want, got);
    }
    struct td_cursor rec, data;
    td_cursor_init(&rec, n->buf.p, want, rec_off + hdr_len);
    if (!td_cursor_get_bytes(&rec, &data, caplen)) {
        return truncated(n, err, n->pos, "internal: record body");
    }
    // Unsigned: a hostile delta wraps (a wrong time for a corrupt record) instead of overflowing.
    int64_t ts_ns = (int64_t)((uint64_t)n->start_ns + delta_ns);
    uint32_t linktype = n->header_linktype;
    *is_frame = true;
    if (n->trailer_len > 0) {
        uint16_t network;
        if (!td_cursor_get_u16_le(&rec, &network)) {
            return truncated(n, err, n->pos, "internal: record trailer");
        }
        linktype = frame_linktype(network, is_frame);
        uint64_t filetime;
        if (n->trailer_len >= 15 && td_cursor_skip(&rec, 4) && td_cursor_get_u64_le(&rec, &filetime)) {
            // 2.3+: a per-frame UTC FILETIME replaces start + delta (as Wireshark does).
            ts_ns = (int64_t)((filetime - (uint64_t)FILETIME_UNIX_EPOCH) * 100u);
        }
    }
    n->offset = n->pos;
    out->ts_ns = ts_ns;
    out->caplen = caplen;
    out->wire_len = wire_len;
    out->linktype = linktype;
    out->interface = 0;
    out->data = td_cursor_data(&data);
    return TD_READ_FRAME;
}

enum td_reader_status td_netmon_next(struct td_netmon *n, struct td_frame *out, struct td_error *err)
{
    // Bounded by the number of table entries actually present in the file.
    while (n->next_entry < n->num_entries) {
        struct td_cursor c;
        uint32_t rec_off;
        td_cursor_init(&c, n->table.p, n->num_entries * 4, n->table_off);
        if (!td_cursor_skip(&c, n->next_entry * 4) || !td_cursor_get_u32_le(&c, &rec_off)) {
            return truncated(n, err, n->pos, "internal: frame table");
        }
        bool is_frame = false;
        enum td_reader_status st = read_record(n, rec_off, out, &is_frame, err);
        n->next_entry++;
        if (st != TD_READ_FRAME) {
            return st;
        }
        if (is_frame) {
            n->num_frames++;
            return TD_READ_FRAME;
        }
    }
    if ((uint64_t)n->num_entries * 4 < n->table_len) {
        return truncated(n, err, n->table_end,
                         "the frame table at byte %u claims %u entries but only %zu are in the file (the file was "
                         "cut short)",
                         n->table_off, n->table_len / 4, n->num_entries);
    }
    return TD_READ_END;
}
