/* SPDX-License-Identifier: MIT */
/* json_arena.h: per-thread bump allocation for jansson values that live only while one connection's JSON is
 * built and dumped (json_arena.c says why). Private to reports/. */
#ifndef TD_REPORTS_JSON_ARENA_H
#define TD_REPORTS_JSON_ARENA_H

#include <stdbool.h>
#include <stddef.h>

/* td_json_arena_install makes jansson allocate through this module (once per process; outside begin/end it is
 * plain malloc/free). Call it before threads use jansson. */
void td_json_arena_install(void);
/* td_json_arena_begin starts a scope on this thread: jansson values made until the matching end come from the
 * thread's region. Scopes nest (only the outermost counts). */
void td_json_arena_begin(void);
/* td_json_arena_end ends the scope and reuses the region; every value made in it must have been freed. */
void td_json_arena_end(void);
/* td_json_arena_in_scope: this thread is between begin and end. */
bool td_json_arena_in_scope(void);
/* td_json_arena_pause makes this thread's jansson values come from malloc until the matching resume, inside a
 * scope too: for values that must outlive it (json.c's shared names). Pauses nest. */
void td_json_arena_pause(void);
void td_json_arena_resume(void);
/* td_json_arena_live: region values of this thread not freed yet (tests). */
size_t td_json_arena_live(void);

#endif
