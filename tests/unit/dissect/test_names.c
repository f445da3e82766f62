/* SPDX-License-Identifier: MIT */
/* (being written) */
#include "../testlib.h"
