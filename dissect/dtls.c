/* SPDX-License-Identifier: MIT */
/* dtls.c: being written. */
#include "conn_internal.h"
