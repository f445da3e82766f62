/* SPDX-License-Identifier: MIT */
/* test_reader.c: offline capture readers: format detection by magic, pcap (both byte orders, us/ns),
 * pcapng (libpcap and our own block reader: multiple sections, interfaces of different link types,
 * if_tsresol, if_tsoffset, SPB, skipped blocks), NetMon 2.0/2.1/2.3, gzip, truncation and corruption,
 * NetMon samples (editcap -F netmon2) record by record against their pcap originals,
 * and the shared corpus against tshark's frame counts. Expected values come from the vectors below
 * (hand-assembled from the format specs) and from tshark 4.0.17, never from running our readers. */
#include "../../../capture/reader.h"
#include "../testlib.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define MAX_FRAMES 1024

struct frame_copy {
    uint64_t frame;
    int64_t ts_ns;
    uint32_t caplen, wire_len, linktype, interface;
    uint8_t first; /* first data byte, 0 if none */
};

struct read_result {
    enum td_err open_err;
    enum td_reader_status status; /* final status */
    struct td_error err;
    size_t num_frames;
    struct frame_copy frames[MAX_FRAMES];
    char format_name[32];
    size_t num_linktypes;
    uint32_t linktypes[8];
    uint64_t offset;
};

static struct read_result result; /* large: static, reused by every test */

static void read_path(const char *path, struct read_result *res)
{
    memset(res, 0, sizeof(*res));
    struct td_reader *r = NULL;
    res->open_err = td_reader_open(path, &r, &res->err);
    if (res->open_err != TD_OK) {
        CU_ASSERT_PTR_NULL(r);
        return;
    }
    snprintf(res->format_name, sizeof(res->format_name), "%s", td_reader_format_name(r));
    struct td_frame f;
    enum td_reader_status st;
    size_t total = 0;
    while ((st = td_reader_next(r, &f, &res->err)) == TD_READ_FRAME) {
        CU_ASSERT_EQUAL(f.frame, total + 1);
        if (total < MAX_FRAMES) {
            struct frame_copy *c = &res->frames[total];
            c->frame = f.frame;
            c->ts_ns = f.ts_ns;
            c->caplen = f.caplen;
            c->wire_len = f.wire_len;
            c->linktype = f.linktype;
            c->interface = f.interface;
            c->first = f.caplen > 0 ? f.data[0] : 0;
        }
        total++;
    }
    res->num_frames = total;
    res->status = st;
    // The end is sticky: asking again gives the same answer.
    struct td_error again;
    CU_ASSERT_EQUAL(td_reader_next(r, &f, &again), st);
    res->num_linktypes = td_reader_num_linktypes(r);
    for (size_t i = 0; i < res->num_linktypes && i < 8; i++) {
        res->linktypes[i] = td_reader_linktype_at(r, i);
    }
    res->offset = td_reader_offset(r);
    td_reader_free(r);
}

static void temp_path(char *path, size_t len)
{
    snprintf(path, len, "/tmp/td_reader_XXXXXX");
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
}

static void write_file(const char *path, const uint8_t *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fwrite(b, 1, n, f), n);
    fclose(f);
}

/* read_bytes writes n bytes to a temp file and reads it back through the reader. */
static void read_bytes(const uint8_t *b, size_t n, struct read_result *res)
{
    char path[64];
    temp_path(path, sizeof(path));
    write_file(path, b, n);
    read_path(path, res);
    unlink(path);
}

static void read_hex(const char *hex, struct read_result *res)
{
    size_t n;
    uint8_t *b = td_test_hex(hex, &n);
    read_bytes(b, n, res);
    free(b);
}

/* ---- vectors ---- */

/* pcap, little-endian, microseconds, LINKTYPE_ETHERNET; two records. */
static const char pcap_le_us[] =
    "d4c3b2a1 0200 0400 00000000 00000000 ffff0000 01000000" /* file header, snaplen 65535, linktype 1 */
    "00105e5f 40e20100 04000000 3c000000 deadbeef"           /* 1600000000.123456, caplen 4, len 60 */
    "01105e5f 3f420f00 02000000 02000000 0102";              /* 1600000001.999999, caplen 2, len 2 */
#define PCAP_LE_US_REC1_END 44u
#define PCAP_LE_US_LEN 62u

/* pcap, big-endian, nanoseconds, LINKTYPE_RAW (101: DLT_RAW is 12 on Linux). */
static const char pcap_be_ns[] = "a1b23c4d 0002 0004 00000000 00000000 0000ffff 00000065"
                                 "5f5e1000 3b9ac9ff 00000003 00000005 450000"; /* 1600000000.999999999 */

/* pcapng: section 1 little-endian with IDB0 (Ethernet, us) and IDB1 (LINUX_SLL, if_tsresol 9 = ns,
 * if_tsoffset 10 s); EPB on if0, IDB1, EPB on if1, SPB, a Name Resolution Block to skip. Section 2 big-endian
 * with IDB0 (RAW, if_tsresol 0x8a = 2^-10 s) and an EPB. libpcap refuses IDB1 (another link type)
 * and the second section, so our reader takes over after frame 1. */
static const char pcapng_multi[] =
    "0a0d0d0a 1c000000 4d3c2b1a 0100 0000 ffffffffffffffff 1c000000" /* SHB LE */
    "01000000 14000000 0100 0000 00000000 14000000"                  /* IDB0: linktype 1, snaplen 0 */
    "06000000 24000000 00000000 31af0500 40e2a507 04000000 3c000000 aabbccdd 24000000" /* EPB if0 */
    "01000000 2c000000 7100 0000 00000000"                           /* IDB1: linktype 113 */
    "0900 0100 09000000"                                             /*   if_tsresol 9 */
    "0e00 0800 0a00000000000000"                                     /*   if_tsoffset 10 */
    "0000 0000 2c000000"                                             /*   opt_endofopt */
    "06000000 24000000 01000000 83573416 15e9ef8b 03000000 03000000 01020300 24000000" /* EPB if1 */
    "03000000 14000000 02000000 eeff0000 14000000"                   /* SPB: 2 bytes */
    "04000000 10000000 00000000 10000000"                            /* NRB: nrb_record_end only */
    "0a0d0d0a 0000001c 1a2b3c4d 0001 0000 ffffffffffffffff 0000001c" /* SHB BE */
    "00000001 00000020 0065 0000 00000000 0009 0001 8a000000 00000000 00000020" /* IDB0: 101, 2^-10 */
    "00000006 00000024 00000000 00000000 00001600 00000002 00000002 45000000 00000024"; /* 5.5 s */
/* Offsets where each block ends, and the packet blocks among them (for the prefix test). */
static const size_t pcapng_multi_ends[] = {28, 48, 84, 128, 164, 184, 200, 228, 260, 296};
static const bool pcapng_multi_is_packet[] = {false, false, true, false, true, true, false, false, false, true};

/* NetMon 2.0: header (128 bytes) with start 2024-01-02 03:04:05.678 (SYSTEMTIME), two frames at
 * 128 and 148, frame table at 166. */
static const char netmon20[] =
    "474d4255 00 02 0100"                                 /* GMBU, version 2.0, Ethernet */
    "e807 0100 0200 0200 0300 0400 0500 a602"             /* 2024-01-02 (Tue) 03:04:05.678 */
    "a6000000 08000000"                                   /* frame table at 166, 8 bytes */
    "000000000000000000000000000000000000000000000000"   /* 24 */
    "000000000000000000000000000000000000000000000000"   /* 48 */
    "000000000000000000000000000000000000000000000000"   /* 72 */
    "000000000000000000000000000000000000000000000000"   /* 96 = 128 - 32 */
    "e803000000000000 3c000000 04000000 deadbeef"         /* +1000 us, len 60, caplen 4 */
    "80841e0000000000 02000000 02000000 0102"             /* +2000000 us */
    "80000000 94000000";                                  /* frame table */
#define NETMON20_START_NS 1704164645678000000ll

/* NetMon 2.1: per-frame trailer with the media type: raw IP (7), converted pcap 0xE000|113,
 * network info (0xFFFD, not a frame: Wireshark skips it), Ethernet (1). Frame table at 32+4*19=108. */
static const char netmon21[] =
    "474d4255 01 02 0100"
    "e807 0100 0200 0200 0300 0400 0500 a602"
    "6c000000 10000000"                             /* frame table at 108, 4 entries */
    "0000000000000000 01000000 01000000 45 0700"    /* 32: raw IP */
    "0100000000000000 01000000 01000000 aa 71e0"    /* 51: LINUX_SLL */
    "0200000000000000 01000000 01000000 bb fdff"    /* 70: network info record */
    "0300000000000000 01000000 01000000 cc 0100"    /* 89: Ethernet */
    "20000000 33000000 46000000 59000000";

/* NetMon 2.3 (header padded to its full 128 bytes: 2.2+ readers use the table fields after the first
 * 32): the 15-byte trailer has a UTC FILETIME that replaces start + delta:
 * 0x01da1747c67fd687 = 1700000000.1234567 s. */
static const char netmon23[] = "474d4255 03 02 0100"
                               "e807 0100 0200 0200 0300 0400 0500 a602"
                               "a0000000 04000000"                      /* table at 160 */
                               "000000000000000000000000000000000000000000000000"
                               "000000000000000000000000000000000000000000000000"
                               "000000000000000000000000000000000000000000000000"
                               "000000000000000000000000000000000000000000000000"
                               "0000000000000000 01000000 01000000 45" /* 128 */
                               "0100 00000000 87d67fc64717da01 00"     /* trailer */
                               "80000000";

/* ---- tests ---- */

static void test_pcap_le_us(void)
{
    read_hex(pcap_le_us, &result);
    CU_ASSERT_EQUAL_FATAL(result.open_err, TD_OK);
    CU_ASSERT_STRING_EQUAL(result.format_name, "pcap");
    CU_ASSERT_EQUAL(result.status, TD_READ_END);
    CU_ASSERT_EQUAL_FATAL(result.num_frames, 2);
    CU_ASSERT_EQUAL(result.frames[0].ts_ns, 1600000000123456000ll);
    CU_ASSERT_EQUAL(result.frames[0].caplen, 4);
    CU_ASSERT_EQUAL(result.frames[0].wire_len, 60);
    CU_ASSERT_EQUAL(result.frames[0].first, 0xde);
    CU_ASSERT_EQUAL(result.frames[0].linktype, 1);
    CU_ASSERT_EQUAL(result.frames[1].ts_ns, 1600000001999999000ll);
    CU_ASSERT_EQUAL(result.frames[1].caplen, 2);
    CU_ASSERT_EQUAL(result.frames[1].first, 0x01);
    CU_ASSERT_EQUAL(result.num_linktypes, 1);
    CU_ASSERT_EQUAL(result.linktypes[0], 1);
    CU_ASSERT_EQUAL(result.offset, PCAP_LE_US_LEN);
}

static void test_pcap_be_ns(void)
{
    read_hex(pcap_be_ns, &result);
    CU_ASSERT_EQUAL_FATAL(result.open_err, TD_OK);
    CU_ASSERT_STRING_EQUAL(result.format_name, "pcap-ns");
    CU_ASSERT_EQUAL(result.status, TD_READ_END);
    CU_ASSERT_EQUAL_FATAL(result.num_frames, 1);
    CU_ASSERT_EQUAL(result.frames[0].ts_ns, 1600000000999999999ll);
    CU_ASSERT_EQUAL(result.frames[0].caplen, 3);
    CU_ASSERT_EQUAL(result.frames[0].wire_len, 5);
    CU_ASSERT_EQUAL(result.frames[0].linktype, 101); /* LINKTYPE_RAW, not DLT_RAW */
    CU_ASSERT_EQUAL(result.frames[0].first, 0x45);
}

static void test_pcapng_multi(void)
{
    read_hex(pcapng_multi, &result);
    CU_ASSERT_EQUAL_FATAL(result.open_err, TD_OK);
    CU_ASSERT_STRING_EQUAL(result.format_name, "pcapng");
    CU_ASSERT_EQUAL(result.status, TD_READ_END);
    CU_ASSERT_EQUAL_FATAL(result.num_frames, 4);
    const struct frame_copy *f = result.frames;
    CU_ASSERT_EQUAL(f[0].ts_ns, 1600000000123456000ll);
    CU_ASSERT_EQUAL(f[0].linktype, 1);
    CU_ASSERT_EQUAL(f[0].caplen, 4);
    CU_ASSERT_EQUAL(f[0].wire_len, 60);
    CU_ASSERT_EQUAL(f[0].first, 0xaa);
    CU_ASSERT_EQUAL(f[1].ts_ns, 1600000000123456789ll); /* ns units + 10 s offset */
    CU_ASSERT_EQUAL(f[1].linktype, 113);
    CU_ASSERT_EQUAL(f[1].interface, 1);
    CU_ASSERT_EQUAL(f[1].caplen, 3);
    CU_ASSERT_EQUAL(f[1].first, 0x01);
    CU_ASSERT_EQUAL(f[2].linktype, 1); /* SPB: interface 0, no timestamp */
    CU_ASSERT_EQUAL(f[2].interface, 0);
    CU_ASSERT_EQUAL(f[2].caplen, 2);
    CU_ASSERT_EQUAL(f[2].wire_len, 2);
    CU_ASSERT_EQUAL(f[2].ts_ns, 0);
    CU_ASSERT_EQUAL(f[2].first, 0xee);
    CU_ASSERT_EQUAL(f[3].linktype, 101); /* new section: its own interface table */
    CU_ASSERT_EQUAL(f[3].interface, 0);
    CU_ASSERT_EQUAL(f[3].ts_ns, 5500000000ll); /* 0x1600 / 1024 s */
    CU_ASSERT_EQUAL(f[3].first, 0x45);
    CU_ASSERT_EQUAL_FATAL(result.num_linktypes, 3);
    CU_ASSERT_EQUAL(result.linktypes[0], 1);
    CU_ASSERT_EQUAL(result.linktypes[1], 113);
    CU_ASSERT_EQUAL(result.linktypes[2], 101);
    CU_ASSERT_EQUAL(result.offset, 296);
}

static void test_netmon20(void)
{
    read_hex(netmon20, &result);
    CU_ASSERT_EQUAL_FATAL(result.open_err, TD_OK);
    CU_ASSERT_STRING_EQUAL(result.format_name, "netmon2");
    CU_ASSERT_EQUAL(result.status, TD_READ_END);
    CU_ASSERT_EQUAL_FATAL(result.num_frames, 2);
    CU_ASSERT_EQUAL(result.frames[0].ts_ns, NETMON20_START_NS + 1000000);
    CU_ASSERT_EQUAL(result.frames[0].caplen, 4);
    CU_ASSERT_EQUAL(result.frames[0].wire_len, 60);
    CU_ASSERT_EQUAL(result.frames[0].linktype, 1);
    CU_ASSERT_EQUAL(result.frames[0].first, 0xde);
    CU_ASSERT_EQUAL(result.frames[1].ts_ns, NETMON20_START_NS + 2000000000);
    CU_ASSERT_EQUAL(result.frames[1].caplen, 2);
    CU_ASSERT_EQUAL(result.frames[1].first, 0x01);
}

/* netmon20_with: the NetMon 2.0 vector with its header's media type and year replaced (hex, 4 digits each,
 * little-endian), into buf. */
static const char *netmon20_with(char *buf, size_t len, const char *media, const char *year)
{
    CU_ASSERT_FATAL(strlen(netmon20) < len);
    memcpy(buf, netmon20, sizeof(netmon20));
    memcpy(buf + strlen("474d4255 00 02 "), media, 4);
    memcpy(buf + strlen("474d4255 00 02 0100"), year, 4);
    return buf;
}

static void test_netmon_media_type_0_is_ethernet(void)
{
    /* Wireshark's netmon_encap[0] is Ethernet: NetMon 3.4 writes 0 for VPN captures. */
    char buf[sizeof(netmon20)];
    read_hex(netmon20_with(buf, sizeof(buf), "0000", "e807"), &result);
    CU_ASSERT_EQUAL_FATAL(result.open_err, TD_OK);
    CU_ASSERT_EQUAL_FATAL(result.num_frames, 2);
    CU_ASSERT_EQUAL(result.frames[0].linktype, 1);
}

static void test_netmon_year_out_of_range(void)
{
    /* 2300 (0x08fc): nanoseconds since 1970 no longer fit; an error, not a wrapped time. */
    char buf[sizeof(netmon20)];
    read_hex(netmon20_with(buf, sizeof(buf), "0100", "fc08"), &result);
    CU_ASSERT_EQUAL(result.open_err, TD_ERR_FORMAT);
    /* 2262 still reads. */
    read_hex(netmon20_with(buf, sizeof(buf), "0100", "d608"), &result);
    CU_ASSERT_EQUAL(result.open_err, TD_OK);
}

static void test_netmon21_per_frame_media(void)
{
    read_hex(netmon21, &result);
    CU_ASSERT_EQUAL_FATAL(result.open_err, TD_OK);
    CU_ASSERT_EQUAL(result.status, TD_READ_END);
    CU_ASSERT_EQUAL_FATAL(result.num_frames, 3);
    CU_ASSERT_EQUAL(result.frames[0].linktype, 101);
    CU_ASSERT_EQUAL(result.frames[0].first, 0x45);
    CU_ASSERT_EQUAL(result.frames[1].linktype, 113);
    CU_ASSERT_EQUAL(result.frames[1].first, 0xaa);
    CU_ASSERT_EQUAL(result.frames[2].linktype, 1);
    CU_ASSERT_EQUAL(result.frames[2].first, 0xcc);
    CU_ASSERT_EQUAL(result.frames[2].ts_ns, NETMON20_START_NS + 3000);
    CU_ASSERT_EQUAL(result.num_linktypes, 3);
}

static void test_netmon23_filetime(void)
{
    read_hex(netmon23, &result);
    CU_ASSERT_EQUAL_FATAL(result.open_err, TD_OK);
    CU_ASSERT_EQUAL(result.status, TD_READ_END);
    CU_ASSERT_EQUAL_FATAL(result.num_frames, 1);
    CU_ASSERT_EQUAL(result.frames[0].ts_ns, 1700000000123456700ll);
    CU_ASSERT_EQUAL(result.frames[0].linktype, 1);
}

static void test_netmon_table_past_end(void)
{
    size_t n;
    uint8_t *b = td_test_hex(netmon20, &n);
    read_bytes(b, 166 + 5, &result); /* the table is cut after its first entry */
    CU_ASSERT_EQUAL_FATAL(result.open_err, TD_OK);
    CU_ASSERT_EQUAL(result.num_frames, 1);
    CU_ASSERT_EQUAL(result.status, TD_READ_ERROR);
    CU_ASSERT_EQUAL(result.err.code, TD_ERR_TRUNCATED);
    CU_ASSERT_PTR_NOT_NULL(strstr(result.err.msg, "after frame 1"));
    read_bytes(b, 150, &result); /* no table at all, frame 2 cut */
    CU_ASSERT_EQUAL(result.num_frames, 0);
    CU_ASSERT_EQUAL(result.err.code, TD_ERR_TRUNCATED);
    // A table entry that points past the end of the file.
    b[166 + 4] = 0xf0;
    read_bytes(b, n, &result);
    CU_ASSERT_EQUAL(result.num_frames, 1);
    CU_ASSERT_EQUAL(result.status, TD_READ_ERROR);
    CU_ASSERT_EQUAL(result.err.code, TD_ERR_TRUNCATED);
    free(b);
}

/* NetMon samples made by samples/make-wrapped.sh with editcap -F netmon2 (NetMon 2.0, media type Ethernet)
 * from samples/<name>.pcap, and one made from `editcap -s 200` output: read together with the pcap original
 * (through libpcap), record by record, they must give the same frames: number, time stamp, link type,
 * captured length (the snaplen applied), original length and bytes. */
struct netmon_pair {
    const char *cap;
    const char *pcap;
    uint32_t snaplen; /* 0: none */
};

static const struct netmon_pair netmon_pairs[] = {
    {"netmon/ca-list-truncated-alert.cap", "ca-list-truncated-alert.pcap", 0},
    {"netmon/tls13.cap", "tls13.pcap", 0},
    {"netmon/version-mismatch.cap", "version-mismatch.pcap", 0},
    {"netmon/tls13-snap200.cap", "tls13.pcap", 200},
};

static void compare_netmon_pair(const struct netmon_pair *pair)
{
    char cap_path[512], pcap_path[512];
    snprintf(cap_path, sizeof(cap_path), "%s/%s", TD_SAMPLES_DIR, pair->cap);
    snprintf(pcap_path, sizeof(pcap_path), "%s/%s", TD_SAMPLES_DIR, pair->pcap);
    struct td_reader *cap = NULL, *orig = NULL;
    struct td_error err;
    CU_ASSERT_EQUAL_FATAL(td_reader_open(cap_path, &cap, &err), TD_OK);
    CU_ASSERT_EQUAL_FATAL(td_reader_open(pcap_path, &orig, &err), TD_OK);
    CU_ASSERT_EQUAL(td_reader_format(cap), TD_FORMAT_NETMON);
    CU_ASSERT_STRING_EQUAL(td_reader_format_name(cap), "netmon2");
    CU_ASSERT_EQUAL(td_reader_format(orig), TD_FORMAT_PCAP);
    size_t frames = 0, cut = 0, mismatches = 0;
    for (;;) {
        struct td_frame a, b;
        enum td_reader_status sa = td_reader_next(cap, &a, &err);
        enum td_reader_status sb = td_reader_next(orig, &b, &err);
        CU_ASSERT_EQUAL(sa, sb);
        if (sa != TD_READ_FRAME || sb != TD_READ_FRAME) {
            CU_ASSERT_EQUAL(sb, TD_READ_END);
            break;
        }
        frames++;
        uint32_t want_caplen = pair->snaplen != 0 && b.caplen > pair->snaplen ? pair->snaplen : b.caplen;
        bool same = a.frame == b.frame && a.ts_ns == b.ts_ns && a.linktype == b.linktype &&
                    a.caplen == want_caplen && a.wire_len == b.wire_len && a.interface == 0 &&
                    memcmp(a.data, b.data, want_caplen) == 0;
        cut += a.caplen < a.wire_len;
        if (!same && mismatches++ < 3) {
            printf("\n  %s frame %llu: ts %lld len %u/%u lt %u; %s: frame %llu ts %lld len %u/%u lt %u\n",
                   pair->cap, (unsigned long long)a.frame, (long long)a.ts_ns, a.caplen, a.wire_len, a.linktype,
                   pair->pcap, (unsigned long long)b.frame, (long long)b.ts_ns, want_caplen, b.wire_len,
                   b.linktype);
        }
    }
    CU_ASSERT_EQUAL(mismatches, 0);
    CU_ASSERT_TRUE(frames > 0);
    // Without a snaplen no frame is cut; with one, some must be (or the sample tests nothing).
    CU_ASSERT_EQUAL(pair->snaplen == 0, cut == 0);
    CU_ASSERT_EQUAL(td_reader_num_linktypes(cap), 1);
    CU_ASSERT_EQUAL(td_reader_linktype_at(cap, 0), 1);
    td_reader_free(cap);
    td_reader_free(orig);
}

static void test_netmon_samples_vs_pcap(void)
{
    for (size_t i = 0; i < sizeof(netmon_pairs) / sizeof(netmon_pairs[0]); i++) {
        compare_netmon_pair(&netmon_pairs[i]);
    }
}

static void test_not_a_capture(void)
{
    read_bytes((const uint8_t *)"", 0, &result);
    CU_ASSERT_EQUAL(result.open_err, TD_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(result.err.msg, "empty"));
    CU_ASSERT_PTR_NOT_NULL(strstr(result.err.msg, "pcapng"));
    const char text[] = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
    read_bytes((const uint8_t *)text, sizeof(text) - 1, &result);
    CU_ASSERT_EQUAL(result.open_err, TD_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(result.err.msg, "not a packet capture"));
    CU_ASSERT_PTR_NOT_NULL(strstr(result.err.msg, "/tmp/td_reader_"));
    read_path("/nonexistent/dir/x.pcap", &result);
    CU_ASSERT_EQUAL(result.open_err, TD_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(result.err.msg, "No such file"));
    // A pcap file header cut short: libpcap refuses it at open.
    size_t n;
    uint8_t *b = td_test_hex(pcap_le_us, &n);
    read_bytes(b, 10, &result);
    CU_ASSERT_EQUAL(result.open_err, TD_ERR_FORMAT);
    free(b);
}

/* Every prefix of the pcap vector: frames are those whose record is complete; the read ends cleanly
 * only on a record boundary, otherwise with TD_ERR_TRUNCATED. */
static void test_pcap_every_prefix(void)
{
    size_t n;
    uint8_t *b = td_test_hex(pcap_le_us, &n);
    CU_ASSERT_EQUAL_FATAL(n, PCAP_LE_US_LEN);
    for (size_t len = 24; len < n; len++) {
        read_bytes(b, len, &result);
        CU_ASSERT_EQUAL_FATAL(result.open_err, TD_OK);
        size_t want = len >= PCAP_LE_US_REC1_END ? 1 : 0;
        bool boundary = len == 24 || len == PCAP_LE_US_REC1_END;
        CU_ASSERT_EQUAL(result.num_frames, want);
        CU_ASSERT_EQUAL(result.status, boundary ? TD_READ_END : TD_READ_ERROR);
        if (!boundary) {
            CU_ASSERT_EQUAL(result.err.code, TD_ERR_TRUNCATED);
            CU_ASSERT_PTR_NOT_NULL(strstr(result.err.msg, "truncated"));
            CU_ASSERT_PTR_NOT_NULL(strstr(result.err.msg, want ? "after frame 1" : "after frame 0"));
        }
    }
    // The exact message for a record cut inside its data.
    read_bytes(b, n - 1, &result);
    CU_ASSERT_PTR_NOT_NULL(strstr(result.err.msg, "truncated at byte 61 after frame 1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(result.err.msg, "claims 2 bytes but 1 remain"));
    free(b);
}

/* Every prefix of the pcapng vector, through libpcap and our reader alike. */
static void test_pcapng_every_prefix(void)
{
    size_t n;
    uint8_t *b = td_test_hex(pcapng_multi, &n);
    size_t num_blocks = sizeof(pcapng_multi_ends) / sizeof(pcapng_multi_ends[0]);
    CU_ASSERT_EQUAL_FATAL(n, pcapng_multi_ends[num_blocks - 1]);
    for (size_t len = 4; len < n; len++) {
        size_t want = 0;
        bool boundary = false;
        for (size_t i = 0; i < num_blocks; i++) {
            want += pcapng_multi_ends[i] <= len && pcapng_multi_is_packet[i];
            boundary |= pcapng_multi_ends[i] == len;
        }
        read_bytes(b, len, &result);
        CU_ASSERT_EQUAL_FATAL(result.open_err, TD_OK);
        CU_ASSERT_EQUAL(result.num_frames, want);
        CU_ASSERT_EQUAL(result.status, boundary ? TD_READ_END : TD_READ_ERROR);
        if (!boundary) {
            CU_ASSERT_EQUAL(result.err.code, TD_ERR_TRUNCATED);
        }
        if (result.num_frames != want || result.status != (boundary ? TD_READ_END : TD_READ_ERROR)) {
            printf("\n  prefix %zu: %zu frames, status %d: %s\n", len, result.num_frames, result.status,
                   result.err.msg);
        }
    }
    free(b);
}

static void test_pcapng_corrupt_block_length(void)
{
    /* SHB, IDB, then a block claiming 13 bytes (not a multiple of 4). */
    read_hex("0a0d0d0a 1c000000 4d3c2b1a 0100 0000 ffffffffffffffff 1c000000"
             "01000000 14000000 0100 0000 00000000 14000000"
             "06000000 0d000000 00000000 00000000",
             &result);
    CU_ASSERT_EQUAL_FATAL(result.open_err, TD_OK);
    CU_ASSERT_EQUAL(result.num_frames, 0);
    CU_ASSERT_EQUAL(result.status, TD_READ_ERROR);
    CU_ASSERT_EQUAL(result.err.code, TD_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(result.err.msg, "byte 48"));
    /* A block claiming 128 MB is corrupt, not an allocation. */
    read_hex("0a0d0d0a 1c000000 4d3c2b1a 0100 0000 ffffffffffffffff 1c000000"
             "06000000 00000008 00000000 00000000",
             &result);
    CU_ASSERT_EQUAL(result.status, TD_READ_ERROR);
    CU_ASSERT_EQUAL(result.err.code, TD_ERR_FORMAT);
    /* An EPB naming an interface that was never described. */
    read_hex("0a0d0d0a 1c000000 4d3c2b1a 0100 0000 ffffffffffffffff 1c000000"
             "01000000 14000000 0100 0000 00000000 14000000"
             "06000000 20000000 05000000 00000000 00000000 00000000 00000000 20000000",
             &result);
    CU_ASSERT_EQUAL(result.status, TD_READ_ERROR);
    CU_ASSERT_EQUAL(result.err.code, TD_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(result.err.msg, "interface 5"));
}

static void test_gzip(void)
{
    size_t n;
    uint8_t *b = td_test_hex(pcap_le_us, &n);
    char path[64];
    temp_path(path, sizeof(path));
    gzFile gz = gzopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(gz);
    CU_ASSERT_EQUAL(gzwrite(gz, b, (unsigned)n), (int)n);
    gzclose(gz);
    read_path(path, &result);
    CU_ASSERT_EQUAL_FATAL(result.open_err, TD_OK);
    CU_ASSERT_STRING_EQUAL(result.format_name, "pcap+gzip");
    CU_ASSERT_EQUAL(result.status, TD_READ_END);
    CU_ASSERT_EQUAL_FATAL(result.num_frames, 2);
    CU_ASSERT_EQUAL(result.frames[1].ts_ns, 1600000001999999000ll);
    CU_ASSERT_EQUAL(result.offset, n); /* offsets count decompressed bytes */
    // A gzip'd, truncated pcap still says where it broke.
    gz = gzopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(gz);
    CU_ASSERT_EQUAL(gzwrite(gz, b, (unsigned)(n - 1)), (int)(n - 1));
    gzclose(gz);
    read_path(path, &result);
    CU_ASSERT_EQUAL(result.num_frames, 1);
    CU_ASSERT_EQUAL(result.err.code, TD_ERR_TRUNCATED);
    unlink(path);
    free(b);
}

static void test_linktype_name(void)
{
    CU_ASSERT_STRING_EQUAL(td_linktype_name(1), "EN10MB");
    CU_ASSERT_STRING_EQUAL(td_linktype_name(101), "RAW");
    CU_ASSERT_STRING_EQUAL(td_linktype_name(113), "LINUX_SLL");
    CU_ASSERT_STRING_EQUAL(td_linktype_name(276), "LINUX_SLL2");
    CU_ASSERT_PTR_NULL(td_linktype_name(0x10004));
}

/* ---- corpus ---- */

/* Frame counts from `tshark -r F -T fields -e frame.number | wc -l` (tshark 4.0.17, Debian 12).
 * sv-tls-corrupt-pcap-record-header.pcap: tshark reads 6 frames then reports the file damaged. */
static const struct {
    const char *name;
    size_t frames;
    enum td_err final; /* TD_OK: clean end */
} corpus[] = {
    {"arkime-badcurveball-certificate-unknown.pcap", 12, TD_OK},
    {"arkime-client-tls12-server-tls10-downgrade.pcap", 19, TD_OK},
    {"arkime-openssl-sslv3.pcap", 20, TD_OK},
    {"arkime-pppoe-sslv2hello-sslv3.pcap", 10, TD_OK},
    {"derived-netmon2-zeek-tls12-handshake-failure.cap", 11, TD_OK},
    {"mercury-dtls12-fragmented-clienthello.pcap", 2, TD_OK},
    {"mercury-encrypted-hs-looks-like-hellorequest.pcap", 1, TD_OK},
    {"mercury-imap-starttls-tls12-renegotiation.pcap", 41, TD_OK},
    {"mercury-sll2-clienthello.pcap", 1, TD_OK},
    {"mercury-top100-fingerprints-decode-error.pcap", 840, TD_OK},
    {"ndpi-6in4-tunnel-tls.pcap", 127, TD_OK},
    {"ndpi-anyconnect-certreq-large-ca-list-dtls.pcap", 589, TD_OK},
    {"ndpi-dhe2048-qinq.pcap", 11, TD_OK},
    {"ndpi-dtls-gtp-qinq-unexpected-message-dsb.pcap", 24, TD_OK},
    {"ndpi-ftp-starttls-retrans-ooo-certreq.pcap", 51, TD_OK},
    {"ndpi-gtp-snaplen-truncated-tls.pcap", 27, TD_OK},
    {"ndpi-psiphon3-retrans-ooo-rawip.pcap", 62, TD_OK},
    {"ndpi-smtp-starttls-vlan-ipv6.pcap", 69, TD_OK},
    {"ndpi-tls-alert-protocol-version.pcap", 18, TD_OK},
    {"ndpi-tls-cipher-lens-malformed.pcap", 5, TD_OK},
    {"ndpi-tls-on-port-80.pcapng", 13, TD_OK},
    {"ndpi-tls13-missing-clienthello-segment.pcap", 14, TD_OK},
    {"ndpi-vxlan-in-vlan-tls13.pcap", 127, TD_OK},
    {"ppp-pcapng-11-interfaces-tls.pcapng", 64, TD_OK},
    {"ppp-pcapng-eth-sll-dhe-certreq-snaplen.pcapng", 159, TD_OK},
    {"ppp-ssl-alert-clear-protocol-version.pcap", 1, TD_OK},
    {"ppp-ssl-multiple-records-dhe-certreq.pcap", 1, TD_OK},
    {"sv-linktype228-ipv4-tls.pcap", 7, TD_OK},
    {"sv-sslv2-compat-hello-tls10-dhe.pcap", 36, TD_OK},
    {"sv-tcp-fastopen-clienthello-in-syn.pcap", 52, TD_OK},
    {"sv-tls-corrupt-pcap-record-header.pcap", 6, TD_ERR_FORMAT},
    {"sv-tls-extra-alert-handshake-failure.pcap", 14, TD_OK},
    {"sv-tls12-client-auth-loopback-ipv6.pcap", 22, TD_OK},
    {"sv-tls12-clienthello-split-mtu300.pcap", 62, TD_OK},
    {"sv-tls13-draft22-hrr.pcap", 19, TD_OK},
    {"sv-tls13-duplicate-clienthello-loopback.pcap", 15, TD_OK},
    {"sv-tls13-retrans-ooo-rawip.pcap", 42, TD_OK},
    {"tcpdump-erspan-type3-no-tls.pcap", 58, TD_OK},
    {"zeek-certificate-request-handshake-failure.pcap", 12, TD_OK},
    {"zeek-dtls12.pcap", 16, TD_OK},
    {"zeek-dtls13-wolfssl.pcap", 15, TD_OK},
    {"zeek-geneve-tls.pcap", 24, TD_OK},
    {"zeek-irc-starttls-sll.pcap", 20, TD_OK},
    {"zeek-ldap-starttls-tls13.pcap", 28, TD_OK},
    {"zeek-mysql-tls11-dhe-certreq.pcap", 18, TD_OK},
    {"zeek-pop3-starttls-null-dhe.pcap", 33, TD_OK},
    {"zeek-pppoe-over-qinq-tls.pcap", 86, TD_OK},
    {"zeek-smtp-starttls.pcap", 37, TD_OK},
    {"zeek-sslv2-only.pcap", 25, TD_OK},
    {"zeek-tls-early-alert-unrecognized-name.pcap", 17, TD_OK},
    {"zeek-tls10-dhe-512bit.pcap", 14, TD_OK},
    {"zeek-tls12-dhe-rsa.pcap", 24, TD_OK},
    {"zeek-tls12-garbled-alert-protocol-error.pcap", 11, TD_OK},
    {"zeek-tls12-handshake-failure.pcap", 11, TD_OK},
    {"zeek-tls12-handshake-fragmented-across-records.pcap.gz", 416, TD_OK},
    {"zeek-tls12-heartbleed-heartbeat.pcap", 23, TD_OK},
    {"zeek-tls13-ech.pcap", 69, TD_OK},
    {"zeek-tls13-hrr-out-of-order.pcap", 19, TD_OK},
    {"zeek-tls13-psk-resumption.pcap", 20, TD_OK},
    {"zeek-tls13-x25519kyber768-large-ch.pcap", 15, TD_OK},
    {"zeek-tls13draft16-ff52-aborted-protocol-version.pcap", 20, TD_OK},
    {"zeek-tls13draft16-ff52-unknown-ca.pcap", 39, TD_OK},
};

static bool is_capture_name(const char *name)
{
    static const char *const exts[] = {".pcap", ".pcapng", ".cap", ".gz"};
    size_t len = strlen(name);
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
        size_t el = strlen(exts[i]);
        if (len > el && strcmp(name + len - el, exts[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* tshark_count asks tshark for a file missing from the table above; returns -1 without tshark. */
static long tshark_count(const char *path)
{
    char cmd[1200];
    int w = snprintf(cmd, sizeof(cmd), "tshark -r '%s' -T fields -e frame.number 2>/dev/null | wc -l", path);
    if (w < 0 || (size_t)w >= sizeof(cmd)) {
        return -1;
    }
    FILE *p = popen(cmd, "r");
    if (p == NULL) {
        return -1;
    }
    long n = -1;
    if (fscanf(p, "%ld", &n) != 1) {
        n = -1;
    }
    return pclose(p) == 0 ? n : -1;
}

static void test_corpus_counts(void)
{
    DIR *d = opendir(TD_CORPUS_DIR);
    if (d == NULL) {
        printf("\n  corpus %s absent: skipped\n", TD_CORPUS_DIR);
        return;
    }
    size_t checked = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!is_capture_name(e->d_name)) {
            continue;
        }
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", TD_CORPUS_DIR, e->d_name);
        long want = -1;
        enum td_err final = TD_OK;
        for (size_t i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++) {
            if (strcmp(corpus[i].name, e->d_name) == 0) {
                want = (long)corpus[i].frames;
                final = corpus[i].final;
            }
        }
        if (want < 0) {
            want = tshark_count(path);
        }
        read_path(path, &result);
        checked++;
        bool ok = want >= 0 && result.open_err == TD_OK && (long)result.num_frames == want &&
                  (final == TD_OK ? result.status == TD_READ_END
                                  : result.status == TD_READ_ERROR && result.err.code == final);
        CU_ASSERT_TRUE(ok);
        if (!ok) {
            printf("\n  %s: %zu frames (tshark: %ld), status %d: %s\n", e->d_name, result.num_frames, want,
                   result.status, result.err.msg);
        }
    }
    closedir(d);
    CU_ASSERT_TRUE(checked >= sizeof(corpus) / sizeof(corpus[0]));
}

/* Per-frame differential against tshark (timestamps, lengths) for the files that exercise the unusual
 * paths: libpcap then our own pcapng reader in one file, NetMon, a pcap ts_sec above 2^31. Kept to three
 * files because each tshark run costs about two seconds. */
static void test_corpus_vs_tshark(void)
{
    static const char *const files[] = {
        "ppp-pcapng-eth-sll-dhe-certreq-snaplen.pcapng",
        "derived-netmon2-zeek-tls12-handshake-failure.cap",
        "mercury-imap-starttls-tls12-renegotiation.pcap",
    };
    DIR *d = opendir(TD_CORPUS_DIR);
    if (d == NULL) {
        printf("\n  corpus absent: skipped\n");
        return;
    }
    closedir(d);
    if (system("command -v tshark >/dev/null 2>&1") != 0) {
        printf("\n  tshark not available: per-frame differential skipped\n");
        return;
    }
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char path[1024], cmd[1200];
        snprintf(path, sizeof(path), "%s/%s", TD_CORPUS_DIR, files[i]);
        read_path(path, &result);
        CU_ASSERT_EQUAL_FATAL(result.open_err, TD_OK);
        snprintf(cmd, sizeof(cmd),
                 "tshark -r '%s' -T fields -E separator=' ' -e frame.number -e frame.time_epoch -e frame.cap_len "
                 "-e frame.len 2>/dev/null",
                 path);
        FILE *p = popen(cmd, "r");
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        unsigned long long num, secs, frac;
        unsigned caplen, wire_len;
        size_t rows = 0, mismatches = 0;
        while (fscanf(p, "%llu %llu.%9llu %u %u", &num, &secs, &frac, &caplen, &wire_len) == 5) {
            rows++;
            if (num == 0 || num > result.num_frames || num > MAX_FRAMES) {
                mismatches++;
                continue;
            }
            const struct frame_copy *f = &result.frames[num - 1];
            // tshark prints bogus 64-bit timestamps unsigned (one interface of the eth-sll file);
            // they do not fit in int64 ns, so only lengths are compared there.
            bool ts_ok = secs > 9000000000ull || f->ts_ns == (int64_t)(secs * 1000000000ull + frac);
            if (!ts_ok || f->caplen != caplen || f->wire_len != wire_len) {
                if (mismatches++ < 3) {
                    printf("\n  %s frame %llu: ours %lld %u %u, tshark %llu.%09llu %u %u\n", files[i], num,
                           (long long)f->ts_ns, f->caplen, f->wire_len, secs, frac, caplen, wire_len);
                }
            }
        }
        pclose(p);
        CU_ASSERT_EQUAL(rows, result.num_frames);
        CU_ASSERT_EQUAL(mismatches, 0);
    }
}

static void test_corpus_linktypes(void)
{
    read_path(TD_CORPUS_DIR "/ppp-pcapng-eth-sll-dhe-certreq-snaplen.pcapng", &result);
    if (result.open_err == TD_ERR_IO) {
        printf("\n  corpus absent: skipped\n");
        return;
    }
    CU_ASSERT_EQUAL_FATAL(result.num_linktypes, 2);
    CU_ASSERT_EQUAL(result.linktypes[0], 1);
    CU_ASSERT_EQUAL(result.linktypes[1], 113);
    CU_ASSERT_EQUAL(result.frames[59].interface, 1); /* frame 60: the first on the SLL interface */
    read_path(TD_CORPUS_DIR "/sv-tls-corrupt-pcap-record-header.pcap", &result);
    CU_ASSERT_PTR_NOT_NULL(strstr(result.err.msg, "byte 5035 (after frame 6)"));
    read_path(TD_CORPUS_DIR "/derived-netmon2-zeek-tls12-handshake-failure.cap", &result);
    CU_ASSERT_STRING_EQUAL(result.format_name, "netmon2");
    /* tshark -r ... -e frame.time_epoch: 1393957586.776878000 for frame 1 */
    CU_ASSERT_EQUAL(result.frames[0].ts_ns, 1393957586776878000ll);
}

static CU_TestInfo tests[] = {
    {"pcap little-endian microseconds", test_pcap_le_us},
    {"pcap big-endian nanoseconds, LINKTYPE_RAW", test_pcap_be_ns},
    {"pcapng two sections, interfaces of different link types", test_pcapng_multi},
    {"netmon 2.0", test_netmon20},
    {"netmon 2.1 per-frame media type", test_netmon21_per_frame_media},
    {"netmon media type 0 is Ethernet", test_netmon_media_type_0_is_ethernet},
    {"netmon start year out of range", test_netmon_year_out_of_range},
    {"netmon 2.3 FILETIME", test_netmon23_filetime},
    {"netmon frame table past the end", test_netmon_table_past_end},
    {"netmon samples record by record vs their pcap", test_netmon_samples_vs_pcap},
    {"not a capture", test_not_a_capture},
    {"pcap every prefix", test_pcap_every_prefix},
    {"pcapng every prefix", test_pcapng_every_prefix},
    {"pcapng corrupt blocks", test_pcapng_corrupt_block_length},
    {"gzip", test_gzip},
    {"linktype names", test_linktype_name},
    {"corpus frame counts (tshark)", test_corpus_counts},
    {"corpus per-frame vs tshark", test_corpus_vs_tshark},
    {"corpus link types and messages", test_corpus_linktypes},
    CU_TEST_INFO_NULL,
};

TD_TEST_MAIN("capture/reader", tests)
