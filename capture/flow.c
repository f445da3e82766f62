/* SPDX-License-Identifier: MIT */
/* (being written) */
#include "flow.h"
