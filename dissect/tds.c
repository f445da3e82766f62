/* SPDX-License-Identifier: MIT */
/* tds.c: being written. */
#include "conn_internal.h"
