/* SPDX-License-Identifier: MIT */
/* progress.h: a one-line progress display on a terminal (stderr), redrawn in place with '\r':
 *     [ 3/12] capture-07.pcap            45% 1.2 GB/2.7 GB  310 MB/s  ETA 0:05
 * Sizes and rates in SI units (1 GB = 10^9 bytes, as capinfos and ls -h --si print them). The caller decides
 * whether to show it (td_progress_is_terminal); a disabled progress never writes. Time is a monotonic clock value
 * the caller passes in (td_progress_now_ns), so redraw throttling is deterministic in tests. No escape sequences
 * are written: the line is erased by overwriting it with spaces, which works on any terminal. */
#ifndef TD_CLI_PROGRESS_H
#define TD_CLI_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Minimum time between two redraws, and before the first one (so a run shorter than this shows nothing). */
#define TD_PROGRESS_REDRAW_NS 200000000
/* Rate and ETA are shown only after this long: before it the rate is noise. */
#define TD_PROGRESS_RATE_AFTER_NS 1000000000

struct td_progress;

/* td_progress_new returns a progress display writing to out (borrowed: it must outlive the progress), or NULL
 * when out of memory; every function below accepts NULL and then does nothing, so a failure needs no handling.
 * enabled false: nothing is ever written. total_bytes: sum of the input sizes (0 = unknown: no percentage and no
 * ETA); total_files: number of inputs (0 = unknown: "[3]" instead of "[3/12]"). */
struct td_progress *td_progress_new(FILE *out, bool enabled, uint64_t total_bytes, size_t total_files);
/* td_progress_free erases the line if one is shown (as td_progress_finish) and releases p. NULL is a no-op. */
void td_progress_free(struct td_progress *p);

/* td_progress_is_terminal is true when out is a terminal (isatty): the usual value for `enabled`. */
bool td_progress_is_terminal(FILE *out);
/* td_progress_now_ns reads CLOCK_MONOTONIC in nanoseconds: the `now_mono_ns` to pass to td_progress_update. */
int64_t td_progress_now_ns(void);
/* td_progress_set_width fixes the line width in columns (tests; a --width option). 0, the default, asks the
 * terminal at each redraw (ioctl TIOCGWINSZ, so a resize is followed) and uses 80 when it cannot tell. The line
 * uses one column less than the width, because writing the last column makes some terminals wrap. */
void td_progress_set_width(struct td_progress *p, unsigned columns);

/* td_progress_file says a new input starts; name (copied) is what to display, e.g. the path as given. Control
 * characters in it are shown as '?'. Nothing is drawn until the next update. */
void td_progress_file(struct td_progress *p, const char *name);
/* td_progress_update records how many bytes of the current file are done, and redraws the line when
 * TD_PROGRESS_REDRAW_NS have passed since the last redraw (the first call starts the clock). Cheap enough to call
 * per frame: between redraws it only stores two numbers. */
void td_progress_update(struct td_progress *p, uint64_t bytes_done_in_current_file, int64_t now_mono_ns);
/* td_progress_file_done adds the finished file's size to the bytes done (it replaces the current file's count). */
void td_progress_file_done(struct td_progress *p, uint64_t file_bytes);
/* td_progress_clear erases the line if one is shown, so a message can be printed on a clean line; the next
 * redraw (at the usual pace) shows it again. Call it before writing anything else to the same terminal. */
void td_progress_clear(struct td_progress *p);
/* td_progress_finish erases the line; afterwards nothing is written any more. */
void td_progress_finish(struct td_progress *p);

/* td_progress_format_bytes writes n as "512 B", "1.2 GB", "310 MB" (SI; one decimal below 10). buf_len >= 16. */
void td_progress_format_bytes(uint64_t n, char *buf, size_t buf_len);
/* td_progress_format_eta writes a duration as "M:SS" below an hour, "H:MM:SS" from an hour up to 99:59:59, and
 * "--:--" beyond. buf_len >= 16. */
void td_progress_format_eta(uint64_t seconds, char *buf, size_t buf_len);

#endif
