/* SPDX-License-Identifier: MIT */
/* (being written) */
#include "internal.h"
