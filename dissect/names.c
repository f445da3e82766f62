/* SPDX-License-Identifier: MIT */
/* (being written) */
#include "names.h"
