/* SPDX-License-Identifier: MIT */
/* reader.h: offline capture input. Detects the format by content (never by file name) and yields
 * frames in file order, numbered from 1 as Wireshark numbers them.
 *   - pcap (both byte orders, micro/nano seconds) and pcapng: through libpcap;
 *   - pcapng files whose interfaces have different link types (libpcap 1.10 stops at the first such
 *     interface): our own pcapng block reader (pcapng.c), switched to transparently;
 *   - Microsoft Network Monitor 2.x (.cap, NetMon 3.4 writes this): our own reader (netmon.c);
 *   - any of the above gzip-compressed (zlib).
 * File bytes parsed by our own readers go through struct td_cursor. */
#ifndef TD_CAPTURE_READER_H
#define TD_CAPTURE_READER_H

#include "base.h"

enum td_capture_format {
    TD_FORMAT_PCAP,
    TD_FORMAT_PCAPNG,
    TD_FORMAT_NETMON,
};

/* One captured frame. data/caplen are valid only until the next td_reader_next or td_reader_free. */
/* NetMon media types with no LINKTYPE_* equivalent (ATM with NetMon's pseudo-header, 802.11 with NetMon's
 * radio header, NetMon event/filter records) are delivered as TD_LINKTYPE_NETMON_BASE + the NetMon network
 * value. That is above the 16-bit LINKTYPE space, so it can never collide with a real link type. The decoder
 * knows TD_LINKTYPE_NETMON_802_11 (its metadata header, then an 802.11 frame); the others are unknown to it. */
#define TD_LINKTYPE_NETMON_BASE 0x10000u
#define TD_LINKTYPE_NETMON_802_11 (TD_LINKTYPE_NETMON_BASE + 6u)

struct td_frame {
    uint64_t frame;      /* 1-based frame number in file order (Wireshark's) */
    int64_t ts_ns;       /* capture time, ns since the Unix epoch */
    uint32_t caplen;     /* bytes captured (data length) */
    uint32_t wire_len;   /* original length on the wire (caplen < wire_len: snaplen) */
    uint32_t linktype;   /* LINKTYPE_* value of this frame's interface (pcapng: per interface) */
    uint32_t interface;  /* pcapng interface id; 0 otherwise */
    const uint8_t *data;
};

enum td_reader_status {
    TD_READ_FRAME = 1, /* *out holds a frame */
    TD_READ_END = 0,   /* clean end of file */
    TD_READ_ERROR = -1 /* err says what broke and where; frames already returned stay valid results */
};

struct td_reader;

/* td_reader_open opens path and detects its format. On success *out owns the open file and must be
 * released with td_reader_free. On failure returns TD_ERR_IO (cannot open/read), or TD_ERR_FORMAT (not a
 * capture / empty file / unsupported format), with err->msg naming the file and what to do. */
TD_MUST_USE enum td_err td_reader_open(const char *path, struct td_reader **out, struct td_error *err);

/* td_reader_next reads the next frame. On TD_READ_ERROR, err->code is TD_ERR_TRUNCATED (the file ends
 * inside a record) or TD_ERR_FORMAT (corrupt structure), and err->msg names the file, the byte offset and
 * the number of frames read before it. */
TD_MUST_USE enum td_reader_status td_reader_next(struct td_reader *r, struct td_frame *out, struct td_error *err);

enum td_capture_format td_reader_format(const struct td_reader *r);
/* td_reader_format_name: "pcap", "pcap-ns", "pcapng", "netmon2", with "+gzip" when compressed. */
const char *td_reader_format_name(const struct td_reader *r);
/* Link types seen so far (distinct, in order of first appearance). */
size_t td_reader_num_linktypes(const struct td_reader *r);
uint32_t td_reader_linktype_at(const struct td_reader *r, size_t i);
/* Bytes of the (uncompressed) capture consumed so far. */
uint64_t td_reader_offset(const struct td_reader *r);

void td_reader_free(struct td_reader *r);

/* LINKTYPE_* (files, struct td_frame) and DLT_* (libpcap's API) differ for a few values on this platform
 * (raw IP: LINKTYPE 101, DLT 12 on Linux): td_linktype_from_dlt / td_linktype_to_dlt convert (-1: no DLT). */
uint32_t td_linktype_from_dlt(int dlt);
int td_linktype_to_dlt(uint32_t linktype);
/* Link-type name for reports ("EN10MB", "LINUX_SLL2", ...), or NULL when unknown (libpcap's table). */
const char *td_linktype_name(uint32_t linktype);

#endif
