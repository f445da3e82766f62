/* SPDX-License-Identifier: MIT */
/* pcapng.c: our own pcapng block reader, used where libpcap 1.10 refuses a file (a second interface with
 * another link type or snaplen, sf-pcapng.c). Spec: draft-ietf-opsawg-pcapng §3.1 (general block
 * structure), §4.1 Section Header Block, §4.2 Interface Description Block (if_tsresol, if_tsoffset),
 * §4.3 Enhanced Packet Block, §4.4 Simple Packet Block, Appendix A (obsolete Packet Block).
 * Every byte of the file is read into a reused buffer with fread and parsed through struct td_cursor. */
#include "cursor.h"
#include "reader_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_SHB 0x0A0D0D0Au
#define BLOCK_IDB 0x00000001u
#define BLOCK_PB 0x00000002u /* obsolete Packet Block */
#define BLOCK_SPB 0x00000003u
#define BLOCK_EPB 0x00000006u
#define BYTE_ORDER_MAGIC 0x1A2B3C4Du

#define OPT_ENDOFOPT 0u
#define OPT_IF_TSRESOL 9u
#define OPT_IF_TSOFFSET 14u

/* Interfaces per section. Each IDB is at least 20 bytes of file, so this is only reached by a hostile
 * file; it bounds the interface table instead of letting the file size it. */
#define MAX_INTERFACES 65536u

#define NS_PER_S 1000000000ull

struct iface {
    uint32_t linktype;
    uint32_t snaplen;
    bool tsresol_pow2; /* if_tsresol MSB set: units of 2^-exp s, else 10^-exp s */
    uint8_t tsresol_exp;
    int64_t tsoffset_s; /* if_tsoffset: seconds added to every timestamp */
};

struct td_pcapng {
    FILE *f;          /* borrowed */
    const char *name; /* borrowed */
    struct td_readbuf buf;
    bool in_section;
    bool big_endian;
    struct iface *ifaces;
    size_t num_ifaces;
    size_t cap_ifaces;
    uint64_t offset; /* file offset of the next block: bytes consumed */
    uint64_t num_frames;
};

enum td_err td_pcapng_new(FILE *f, const char *name, struct td_pcapng **out, struct td_error *err)
{
    struct td_pcapng *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return td_error_set(err, TD_ERR_RESOURCE, "%s: out of memory", name);
    }
    p->f = f;
    p->name = name;
    *out = p;
    return TD_OK;
}

void td_pcapng_free(struct td_pcapng *p)
{
    if (p == NULL) {
        return;
    }
    td_readbuf_cleanup(&p->buf);
    free(p->ifaces);
    free(p);
}

uint64_t td_pcapng_offset(const struct td_pcapng *p) { return p->offset; }

/* The section's byte order decides every multi-byte field (§4.1). */
static bool get_u16(const struct td_pcapng *p, struct td_cursor *c, uint16_t *out)
{
    return p->big_endian ? td_cursor_get_u16(c, out) : td_cursor_get_u16_le(c, out);
}

static bool get_u32(const struct td_pcapng *p, struct td_cursor *c, uint32_t *out)
{
    return p->big_endian ? td_cursor_get_u32(c, out) : td_cursor_get_u32_le(c, out);
}

static bool get_u64(const struct td_pcapng *p, struct td_cursor *c, uint64_t *out)
{
    return p->big_endian ? td_cursor_get_u64(c, out) : td_cursor_get_u64_le(c, out);
}

/* corrupt: the bytes are there but impossible. Reading cannot go on from here. */
static enum td_reader_status corrupt(const struct td_pcapng *p, struct td_error *err, uint64_t at, const char *fmt,
                                     ...) TD_PRINTF(4, 5);
static enum td_reader_status corrupt(const struct td_pcapng *p, struct td_error *err, uint64_t at, const char *fmt,
                                     ...)
{
    char what[TD_ERRMSG_LEN];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (n < 0) {
        what[0] = '\0';
    }
    td_error_set(err, TD_ERR_FORMAT,
                 "%s: byte %llu (after frame %llu): %s; the file is corrupt from here, %llu frames were analysed",
                 p->name, (unsigned long long)at, (unsigned long long)p->num_frames, what,
                 (unsigned long long)p->num_frames);
    return TD_READ_ERROR;
}

/* truncated: the file ends inside a block (a cut download, a capture still being written). */
static enum td_reader_status truncated(const struct td_pcapng *p, struct td_error *err, uint64_t block_off,
                                       uint32_t type, uint64_t claimed, uint64_t remain)
{
    td_error_set(err, TD_ERR_TRUNCATED,
                 "%s: truncated at byte %llu after frame %llu: the last block (type 0x%08x at byte %llu) claims %llu "
                 "bytes but %llu remain; the %llu frames before it were analysed",
                 p->name, (unsigned long long)(block_off + remain), (unsigned long long)p->num_frames, type,
                 (unsigned long long)block_off, (unsigned long long)claimed, (unsigned long long)remain,
                 (unsigned long long)p->num_frames);
    return TD_READ_ERROR;
}

static enum td_reader_status read_failed(const struct td_pcapng *p, struct td_error *err, uint64_t at)
{
    td_error_set(err, TD_ERR_IO, "%s: read error at byte %llu after frame %llu: %s", p->name, (unsigned long long)at,
                 (unsigned long long)p->num_frames, strerror(errno));
    return TD_READ_ERROR;
}

/* if_tsresol (§4.2): MSB clear = 10^-v seconds, MSB set = 2^-(v & 0x7f) seconds. Resolutions finer
 * than 10^-19 / 2^-63 cannot be represented in 64 bits and mean a corrupt option. */
static bool is_tsresol_supported(bool pow2, uint8_t exp) { return pow2 ? exp <= 63 : exp <= 19; }

static uint64_t pow10u(unsigned e)
{
    uint64_t v = 1;
    for (unsigned i = 0; i < e; i++) {
        v *= 10;
    }
    return v;
}

/* ts_to_ns converts a timestamp in the interface's units to ns since the epoch, as Wireshark does
 * (truncating below 1 ns), then applies if_tsoffset. */
static int64_t ts_to_ns(const struct iface *ifc, uint64_t ts)
{
    uint64_t ns;
    if (!ifc->tsresol_pow2) {
        ns = ifc->tsresol_exp <= 9 ? ts * pow10u(9u - ifc->tsresol_exp) : ts / pow10u(ifc->tsresol_exp - 9u);
    } else {
        unsigned k = ifc->tsresol_exp;
        uint64_t secs = ts >> k;
        uint64_t frac = k == 0 ? 0 : ts & ((UINT64_C(1) << k) - 1);
        // frac < 2^k; scale it down first when frac * 10^9 could overflow 64 bits (10^9 < 2^30).
        uint64_t frac_ns = k <= 34 ? (frac * NS_PER_S) >> k : ((frac >> (k - 34)) * NS_PER_S) >> 34;
        ns = secs * NS_PER_S + frac_ns;
    }
    return (int64_t)ns + ifc->tsoffset_s * (int64_t)NS_PER_S;
}

/* Options (§3.5): code u16, length u16, value padded to 32 bits; opt_endofopt ends the list. */
static enum td_reader_status parse_idb_options(struct td_pcapng *p, struct td_cursor *opts, struct iface *ifc,
                                               struct td_error *err)
{
    while (td_cursor_len(opts) >= 4) {
        uint64_t at = td_cursor_off(opts);
        uint16_t code, len;
        struct td_cursor val;
        if (!get_u16(p, opts, &code) || !get_u16(p, opts, &len)) {
            return corrupt(p, err, at, "interface option header is cut short");
        }
        if (code == OPT_ENDOFOPT) {
            break;
        }
        if (!td_cursor_get_bytes(opts, &val, len)) {
            return corrupt(p, err, at, "interface option %u claims %u bytes but only %zu remain in the block", code,
                           len, td_cursor_len(opts));
        }
        // Padding to 32 bits; some writers omit it after the last option, which is harmless.
        size_t pad = (4u - (len % 4u)) % 4u;
        if (!td_cursor_skip(opts, pad)) {
            td_cursor_truncate(opts, 0);
        }
        if (code == OPT_IF_TSRESOL) {
            uint8_t v;
            if (!td_cursor_get_u8(&val, &v)) {
                return corrupt(p, err, at, "if_tsresol option is empty");
            }
            ifc->tsresol_pow2 = (v & 0x80u) != 0;
            ifc->tsresol_exp = (uint8_t)(v & 0x7fu);
            if (!is_tsresol_supported(ifc->tsresol_pow2, ifc->tsresol_exp)) {
                return corrupt(p, err, at, "if_tsresol 0x%02x is finer than 64-bit timestamps can hold", v);
            }
        } else if (code == OPT_IF_TSOFFSET) {
            uint64_t v;
            if (!get_u64(p, &val, &v)) {
                return corrupt(p, err, at, "if_tsoffset option has %u bytes, not 8", len);
            }
            ifc->tsoffset_s = (int64_t)v;
        }
    }
    return TD_READ_FRAME;
}

/* IDB body: LinkType u16, Reserved u16, SnapLen u32, Options. */
static enum td_reader_status parse_idb(struct td_pcapng *p, struct td_cursor *body, struct td_error *err)
{
    uint64_t at = td_cursor_off(body);
    uint16_t linktype, reserved;
    uint32_t snaplen;
    if (!get_u16(p, body, &linktype) || !get_u16(p, body, &reserved) || !get_u32(p, body, &snaplen)) {
        return corrupt(p, err, at, "Interface Description Block is shorter than its 8 fixed bytes");
    }
    if (p->num_ifaces >= MAX_INTERFACES) {
        return corrupt(p, err, at, "more than %u interfaces in one section", MAX_INTERFACES);
    }
    if (p->num_ifaces == p->cap_ifaces) {
        size_t cap = p->cap_ifaces ? p->cap_ifaces * 2 : 8;
        struct iface *grown = realloc(p->ifaces, cap * sizeof(*grown));
        if (grown == NULL) {
            td_error_set(err, TD_ERR_RESOURCE, "%s: out of memory reading interface %zu", p->name, p->num_ifaces);
            return TD_READ_ERROR;
        }
        p->ifaces = grown;
        p->cap_ifaces = cap;
    }
    struct iface ifc = {.linktype = linktype, .snaplen = snaplen, .tsresol_pow2 = false, .tsresol_exp = 6};
    enum td_reader_status st = parse_idb_options(p, body, &ifc, err);
    if (st == TD_READ_ERROR) {
        return st;
    }
    p->ifaces[p->num_ifaces++] = ifc;
    return TD_READ_FRAME;
}

static enum td_reader_status find_iface(struct td_pcapng *p, uint64_t at, uint32_t id, const struct iface **out,
                                        struct td_error *err)
{
    if (id >= p->num_ifaces) {
        return corrupt(p, err, at, "packet refers to interface %u but the section describes %zu", id,
                       p->num_ifaces);
    }
    *out = &p->ifaces[id];
    return TD_READ_FRAME;
}

static void fill_frame(struct td_frame *out, const struct iface *ifc, uint32_t id, int64_t ts_ns,
                       const struct td_cursor *data, uint32_t wire_len)
{
    out->ts_ns = ts_ns;
    out->caplen = (uint32_t)td_cursor_len(data);
    out->wire_len = wire_len;
    out->linktype = ifc->linktype;
    out->interface = id;
    out->data = td_cursor_data(data);
}

/* EPB body: Interface ID u32, Timestamp (High) u32, Timestamp (Low) u32, Captured Packet Length u32,
 * Original Packet Length u32, Packet Data (padded), Options.
 * Obsolete PB body: Interface ID u16, Drops Count u16, then the same fields from Timestamp (High) on. */
static enum td_reader_status parse_epb(struct td_pcapng *p, struct td_cursor *body, bool obsolete,
                                       struct td_frame *out, struct td_error *err)
{
    uint64_t at = td_cursor_off(body);
    uint32_t id, ts_hi, ts_lo, caplen, wire_len;
    bool ok;
    if (obsolete) {
        uint16_t id16, drops;
        ok = get_u16(p, body, &id16) && get_u16(p, body, &drops);
        id = id16;
    } else {
        ok = get_u32(p, body, &id);
    }
    if (!ok || !get_u32(p, body, &ts_hi) || !get_u32(p, body, &ts_lo) || !get_u32(p, body, &caplen) ||
        !get_u32(p, body, &wire_len)) {
        return corrupt(p, err, at, "packet block is shorter than its 20 fixed bytes");
    }
    const struct iface *ifc = NULL;
    if (find_iface(p, at, id, &ifc, err) == TD_READ_ERROR) {
        return TD_READ_ERROR;
    }
    struct td_cursor data;
    if (!td_cursor_get_bytes(body, &data, caplen)) {
        return corrupt(p, err, at, "packet claims %u captured bytes but its block holds %zu", caplen,
                       td_cursor_len(body));
    }
    fill_frame(out, ifc, id, ts_to_ns(ifc, ((uint64_t)ts_hi << 32) | ts_lo), &data, wire_len);
    return TD_READ_FRAME;
}

/* SPB body: Original Packet Length u32, Packet Data. The captured length is the smaller of the original
 * length and the first interface's snaplen (§4.4); there is no timestamp (Wireshark shows 0). */
static enum td_reader_status parse_spb(struct td_pcapng *p, struct td_cursor *body, struct td_frame *out,
                                       struct td_error *err)
{
    uint64_t at = td_cursor_off(body);
    uint32_t wire_len;
    if (!get_u32(p, body, &wire_len)) {
        return corrupt(p, err, at, "Simple Packet Block is shorter than its 4 fixed bytes");
    }
    const struct iface *ifc = NULL;
    if (find_iface(p, at, 0, &ifc, err) == TD_READ_ERROR) {
        return TD_READ_ERROR;
    }
    struct td_cursor data = *body;
    td_cursor_truncate(&data, wire_len);
    if (ifc->snaplen != 0) {
        td_cursor_truncate(&data, ifc->snaplen);
    }
    fill_frame(out, ifc, 0, 0, &data, wire_len);
    return TD_READ_FRAME;
}

/* SHB body (after the byte-order magic): Major Version u16, Minor Version u16, Section Length i64, Options.
 * A new section starts a new interface table. */
static enum td_reader_status parse_shb(struct td_pcapng *p, struct td_cursor *body, struct td_error *err)
{
    uint64_t at = td_cursor_off(body);
    uint16_t major, minor;
    uint64_t section_len;
    if (!get_u16(p, body, &major) || !get_u16(p, body, &minor) || !get_u64(p, body, &section_len)) {
        return corrupt(p, err, at, "Section Header Block is shorter than its 16 fixed bytes");
    }
    if (major != 1) {
        return corrupt(p, err, at, "pcapng major version %u is not supported (only 1 is)", major);
    }
    p->in_section = true;
    p->num_ifaces = 0;
    return TD_READ_FRAME;
}

/* Block (§3.1): Block Type u32, Block Total Length u32, Block Body, Block Total Length u32.
 * For an SHB the byte-order magic follows the length and decides how both are read. */
static enum td_reader_status next_block(struct td_pcapng *p, struct td_frame *out, bool *is_frame,
                                        struct td_error *err)
{
    uint64_t block_off = p->offset;
    uint8_t head[8];
    size_t got = fread(head, 1, 8, p->f);
    if (got == 0 && !ferror(p->f)) {
        return TD_READ_END;
    }
    if (got < 8) {
        if (ferror(p->f)) {
            return read_failed(p, err, block_off);
        }
        td_error_set(err, TD_ERR_TRUNCATED,
                     "%s: truncated at byte %llu after frame %llu: the last block header needs 8 bytes but %zu "
                     "remain; the %llu frames before it were analysed",
                     p->name, (unsigned long long)(block_off + got), (unsigned long long)p->num_frames, got,
                     (unsigned long long)p->num_frames);
        return TD_READ_ERROR;
    }
    struct td_cursor hc;
    uint32_t type, total_len;
    size_t head_len = 8;
    td_cursor_init(&hc, head, 8, block_off);
    if (!td_cursor_get_u32(&hc, &type)) {
        return corrupt(p, err, block_off, "internal: block header");
    }
    if (type == BLOCK_SHB) { // palindromic type: same in both byte orders
        uint8_t bom[4];
        got = fread(bom, 1, sizeof(bom), p->f);
        if (got < sizeof(bom)) {
            return ferror(p->f) ? read_failed(p, err, block_off) : truncated(p, err, block_off, type, 12, 8 + got);
        }
        head_len = 12;
        struct td_cursor bc;
        uint32_t bom_be;
        td_cursor_init(&bc, bom, sizeof(bom), block_off + 8);
        if (!td_cursor_get_u32(&bc, &bom_be)) {
            return corrupt(p, err, block_off, "internal: section header");
        }
        if (bom_be != BYTE_ORDER_MAGIC && bom_be != 0x4D3C2B1Au) {
            return corrupt(p, err, block_off + 8, "Section Header Block byte-order magic is 0x%08x, not 0x1a2b3c4d",
                           bom_be);
        }
        p->big_endian = bom_be == BYTE_ORDER_MAGIC;
    } else if (!p->in_section) {
        return corrupt(p, err, block_off, "the file does not start with a Section Header Block (type 0x%08x)", type);
    } else {
        td_cursor_init(&hc, head, 8, block_off);
        if (!get_u32(p, &hc, &type)) {
            return corrupt(p, err, block_off, "internal: block header");
        }
    }
    if (!get_u32(p, &hc, &total_len)) {
        return corrupt(p, err, block_off, "internal: block header");
    }
    if (total_len < 12 || total_len % 4 != 0 || total_len > TD_PCAPNG_MAX_BLOCK_LEN) {
        return corrupt(p, err, block_off,
                       "block type 0x%08x has length %u (must be a multiple of 4 between 12 and %u)", type, total_len,
                       TD_PCAPNG_MAX_BLOCK_LEN);
    }
    if (total_len < head_len + 4) {
        return corrupt(p, err, block_off, "block length %u is too short for a Section Header Block", total_len);
    }
    size_t rest_len = total_len - head_len;
    enum td_err e = td_readbuf_fill(&p->buf, p->f, rest_len, &got);
    if (e == TD_ERR_IO) {
        return read_failed(p, err, block_off + head_len + got);
    }
    if (e != TD_OK) {
        td_error_set(err, e, "%s: out of memory reading a %u-byte block at byte %llu", p->name, total_len,
                     (unsigned long long)block_off);
        return TD_READ_ERROR;
    }
    if (got < rest_len) {
        return truncated(p, err, block_off, type, total_len, head_len + got);
    }
    struct td_cursor rest, body;
    uint32_t trailer_len;
    td_cursor_init(&rest, p->buf.p, rest_len, block_off + head_len);
    if (!td_cursor_get_bytes(&rest, &body, rest_len - 4) || !get_u32(p, &rest, &trailer_len)) {
        return corrupt(p, err, block_off, "internal: block body");
    }
    if (trailer_len != total_len) {
        return corrupt(p, err, block_off, "block type 0x%08x starts with length %u but ends with length %u", type,
                       total_len, trailer_len);
    }
    p->offset = block_off + total_len;

    enum td_reader_status st = TD_READ_FRAME;
    *is_frame = false;
    switch (type) {
    case BLOCK_SHB:
        st = parse_shb(p, &body, err);
        break;
    case BLOCK_IDB:
        st = parse_idb(p, &body, err);
        break;
    case BLOCK_EPB:
    case BLOCK_PB:
        st = parse_epb(p, &body, type == BLOCK_PB, out, err);
        *is_frame = true;
        break;
    case BLOCK_SPB:
        st = parse_spb(p, &body, out, err);
        *is_frame = true;
        break;
    default: // NRB, ISB, DSB, custom and future blocks carry no frames
        break;
    }
    if (st == TD_READ_ERROR) {
        p->offset = block_off;
    }
    return st;
}

enum td_reader_status td_pcapng_next(struct td_pcapng *p, struct td_frame *out, struct td_error *err)
{
    // Every block consumes at least 12 bytes of file, so this loop ends with the file.
    for (;;) {
        bool is_frame = false;
        enum td_reader_status st = next_block(p, out, &is_frame, err);
        if (st != TD_READ_FRAME) {
            return st;
        }
        if (is_frame) {
            p->num_frames++;
            return TD_READ_FRAME;
        }
    }
}
